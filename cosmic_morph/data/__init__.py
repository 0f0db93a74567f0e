"Images to tensors: decoding, crops and stretches (`images`), D4 orientations (`d4`), DataLoaders (`loaders`)."
