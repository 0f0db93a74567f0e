"""Real sky images to morphology labels and galaxy captions: a literate nbdev research repository

Modules:

- `cosmic_morph.data.d4`: The dihedral group of rotations by 90° and mirrors, as one `gather` on a batch, plus rotations by any angle: the augmentation of every training batch.
- `cosmic_morph.data.images`: From a stored image to the `uint8` array a network sees: decoded, centre-cropped, squished, optionally stretched; and the in-memory cache of a whole training set.
- `cosmic_morph.data.loaders`: fastai DataLoaders over cached `uint8` tensors: whole batches sliced where the data lives, D4-augmented and normalised on the way, optionally class-balanced.
- `cosmic_morph.learner`: A fastai `Learner` for a classifier: losses for imbalanced classes, the optimizer, per-epoch checkpoints that can be resumed, and a loop that does not make the CPU wait for the GPU.
- `cosmic_morph.models.core`: One factory builds every network by name from timm's registry, `d4cnn` included; pretrained weights only from disk; models saved as safetensors + JSON and loaded without pickles.
- `cosmic_morph.models.d4cnn`: `d4cnn`: D4 group convolutions in plain PyTorch, exactly invariant to the 8 orientations a galaxy image has no way to prefer, registered in timm's model registry.
- `cosmic_morph.real`: Galaxy Zoo 2 galaxies with a fixed, seeded test split, Galaxy Zoo 1 galaxies as extra labels, and the settings and scores the Galaxy Zoo 5-class model uses on them.
- `cosmic_morph.train`: One call from a Manifest to a saved model: data, network, a frozen-body baseline when the body is pretrained, then fine-tuning, checkpointed every epoch; saved as safetensors + the `TrainConfig` as JSON."""

__version__ = "0.0.1"
