"""The store on other filesystems, failure safety, and parity between training and serving preprocessing."""
import numpy as np, pandas as pd, pytest, torch
from cosmic_morph.manifest import ImageStore, load_manifest, save_manifest, ManifestError
from cosmic_morph.ingest.first import ingest_first

def test_memory_store_roundtrip():
    m = ingest_first("memory://cm-pytest/first", per_class=1, progress=False)
    assert len(m) == 12 and m.sha256.nunique() == 12
    s = ImageStore("memory://cm-pytest/first")
    assert s.local_path(m.uri[0]) is None
    assert s.read_bytes(m.uri[0])[:4] == b"\x89PNG"
    again = ingest_first("memory://cm-pytest/first", per_class=1, progress=False)
    assert again.image_id.tolist() == m.image_id.tolist()

def test_rejected_manifest_leaves_store_intact(tmp_path):
    m = ingest_first(tmp_path, per_class=1, progress=False)
    before = (tmp_path/"manifest.parquet").read_bytes()
    bad = m.copy(); bad.loc[0, "split"] = "holdout"
    with pytest.raises(ManifestError, match="split 'holdout'"): save_manifest(bad, tmp_path)
    assert (tmp_path/"manifest.parquet").read_bytes() == before
    assert list(tmp_path.glob("*.tmp")) == []
    pd.testing.assert_frame_equal(load_manifest(tmp_path), m)

def test_serving_matches_training_preprocessing(first_store, smoke_learner):
    "fastai's validation pipeline and `predict`'s hand-written one give the same probabilities."
    from cosmic_morph.models.core import load_model
    from cosmic_morph.inference import predict
    learn, model_dir = smoke_learner
    probs_fastai, _ = learn.get_preds(dl=learn.dls.valid)
    model = load_model(model_dir, device="cpu")
    rows = learn.dls.valid.items
    paths = [ImageStore(first_store).local_path(u) for u in rows.uri]
    ours = predict(model, paths)
    ours = torch.tensor([[p["probs"][c] for c in model.config["classes"]] for p in ours])
    assert ours.shape == probs_fastai.shape
    assert torch.allclose(ours, probs_fastai.float(), atol=1e-3)
