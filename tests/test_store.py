"""The store on other filesystems, failure safety, and parity between training and serving preprocessing."""
import re
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

# --- the store keeps its promises: sweep confined, bytes verified, uris confined, nothing created by reading ---
import json, os, subprocess, time, uuid, logging
from pathlib import Path
from conftest import CLI
from cosmic_morph.manifest import (IntegrityError, ManifestWriter, commit_manifest, manifest_from_records,
                                   upsert_manifest, encode_png)
from cosmic_morph.split import split_store, leakage_report

ENV = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", ""))

def cli(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)

def _old(p, text="left behind"):
    "A file at `p` last written two hours ago."
    p.parent.mkdir(parents=True, exist_ok=True); p.write_text(text); os.utime(p, (time.time() - 7200,) * 2); return p

@pytest.mark.parametrize("name, victim", [("exp[1]", "exp1/results.tmp"), ("vict*", "victim/run.tmp"),
                                          ("vict*", f"victim/notes.{uuid.uuid4().hex}.tmp"), ("a?c", f"abc/x.{uuid.uuid4().hex}.tmp")])
def test_sweep_deletes_nothing_outside_the_store(tmp_path, name, victim):
    s = ImageStore(tmp_path/name); r = s.put_image(encode_png(np.full((8, 8), 3, np.uint8)))
    v = _old(tmp_path/victim, "not the store's")
    stray = _old(v.parent/"images"/"ab"/f"x.{uuid.uuid4().hex}.tmp", "a sibling folder's temporary")
    own = _old(Path(s.path(r["uri"] + f".{uuid.uuid4().hex}.tmp")), "left by a killed write")
    assert s.sweep_tmp() == 1 and not own.exists()                   # its own temporary goes ...
    assert v.exists() and stray.exists()                            # ... nothing outside it does

def _swap(store, m):
    "Replace a train image's bytes with a test image's (the Manifest still holds the old sha256): a silent leak."
    s = ImageStore(store)
    tr, te = m[m.split == "train"].iloc[0], m[(m.split == "test") & (m.sha256 != m[m.split == "train"].sha256.iloc[0])].iloc[0]
    Path(s.local_path(tr.uri)).write_bytes(s.read_bytes(te.uri))
    return tr

def test_swapped_image_is_caught(tmp_path):
    from cosmic_morph.data.images import image_cache
    from cosmic_morph.evaluate import stored_rgb
    store = tmp_path/"store"; ingest_first(store, per_class=1, progress=False)
    m = split_store(store, keep_source_split=False)
    tr = _swap(store, m)
    line = f"{tr.image_id} ({tr.uri}): stored bytes do not match sha256 {tr.sha256[:16]}"
    with pytest.raises(IntegrityError, match=re.escape(line)): image_cache(store, m[m.split == "train"], 16, progress=False)
    with pytest.raises(IntegrityError, match=re.escape(line)): stored_rgb(ImageStore(store), tr.uri, tr.sha256, tr.image_id)
    r = cli("train", "--store", store, "--out", tmp_path/"model", "--profile", "smoke", "--taxonomy", "first4")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(f"cosmic-morph train: error: {line}")
    assert "Traceback" not in r.stderr and not (tmp_path/"model").exists()

def _hostile(store, uri):
    "A Manifest written behind the library's back whose first row points outside the store."
    m = ingest_first(store, per_class=1, progress=False)
    bad = m.copy(); bad.loc[0, "uri"] = uri
    bad.to_parquet(Path(store)/"manifest.parquet", index=False)
    return m

@pytest.mark.parametrize("uri", ["../../outside/x.png", "../../../../etc/passwd", "/etc/passwd", "images/../../x.png"])
def test_uri_outside_the_store_is_refused(tmp_path, uri):
    from cosmic_morph.data.images import image_cache
    store = tmp_path/"store"; m = _hostile(store, uri)
    (tmp_path/"outside").mkdir(); (tmp_path/"outside"/"x.png").write_bytes(encode_png(np.zeros((8, 8), np.uint8)))
    with pytest.raises(ManifestError, match=re.escape(f"{m.image_id[0]}: uri {uri!r}")):
        image_cache(store, load_manifest(store), 16, progress=False)
    with pytest.raises(ManifestError, match=re.escape(f"manifest row 0 ({m.image_id[0]}): uri {uri!r}")):
        save_manifest(load_manifest(store), store)
    before = (store/"manifest.parquet").read_bytes()
    r = cli("split", "--store", store)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and f"uri {uri!r}" in r.stderr
    assert (store/"manifest.parquet").read_bytes() == before        # a refused split leaves the Manifest as it was

def test_unknown_columns_survive_split_and_ingest(tmp_path):
    store = tmp_path/"store"; m = ingest_first(store, per_class=1, progress=False)
    save_manifest(m.assign(my_notes=[f"note {i}" for i in range(len(m))], my_score=np.arange(len(m)) / 10), store)
    r = cli("split", "--store", store)
    assert r.returncode == 0, r.stderr
    ingest_first(store, per_class=1, progress=False)                 # re-ingest replaces the rows: notes stay
    out = load_manifest(store)
    assert out.my_notes.tolist() == [f"note {i}" for i in range(len(m))] and out.split.notna().all()
    assert np.allclose(out.my_score, np.arange(len(m)) / 10)

def test_rows_without_phash_are_grouped(tmp_path):
    "Planted copies whose rows lack a `phash` are split exactly as if they had one: their hashes are computed first."
    from cosmic_morph.eda import plant_near_duplicates
    from cosmic_morph.split import split_manifest
    store = tmp_path/"store"; m = ingest_first(store, per_class=3, progress=False)
    src = m[m.label != "Compact"].image_id.iloc[:10].tolist()
    copies = plant_near_duplicates(m, store, src, ["jpeg75"])
    full = manifest_from_records(pd.concat([m, copies], ignore_index=True).to_dict("records"))
    expected = split_manifest(full, keep_source_split=False, store=store)       # every row with its hash
    save_manifest(full.assign(phash=full.phash.where(~full.image_id.str.endswith("~jpeg75"))), store)
    out = split_store(store, keep_source_split=False)
    assert out.phash.tolist() == full.phash.tolist()                            # computed, and written back
    assert out.split.tolist() == expected.split.tolist()
    together = sum(out[out.image_id.isin([o, o + "~jpeg75"])].split.nunique() == 1 for o in src)
    assert together >= 9 and leakage_report(out, store=store)["groups_crossing_splits"] == 0

def test_read_only_commands_never_create_a_store(tmp_path):
    typo = tmp_path/"typo"
    for args in (["split", "--store", typo], ["train", "--store", typo, "--out", tmp_path/"m", "--profile", "smoke"]):
        r = cli(*args)
        assert r.returncode == 2 and r.stderr.strip().endswith(f"{typo}: no such store (no manifest.parquet)"), r.stderr
    assert not typo.exists() and not (tmp_path/"m").exists()
    with pytest.raises(FileNotFoundError, match="no such store"): load_manifest("memory://cm-pytest/never-written")
    assert not ImageStore("memory://cm-pytest/never-written").fs.exists("/cm-pytest/never-written")

def test_memory_store_commits_from_threads_lose_nothing():
    "`memory://` passes the exclusive-create probe: commits take the lease; 8 threads × 5 commits keep every row."
    from concurrent.futures import ThreadPoolExecutor
    from cosmic_morph.manifest import _exclusive_create_works
    s = ImageStore(f"memory://cm-pytest/threads-{uuid.uuid4().hex[:6]}"); f = s.put_image(encode_png(np.ones((8, 8), np.uint8)))
    assert _exclusive_create_works(s)
    add = lambda i: commit_manifest(s, lambda now: upsert_manifest(now, manifest_from_records([dict(image_id=f"x:{i}", source="x", **f)])))
    with ThreadPoolExecutor(8) as ex: list(ex.map(add, range(40)))
    assert sorted(load_manifest(s).image_id) == sorted(f"x:{i}" for i in range(40))

def test_no_exclusive_create_says_so_once(monkeypatch, caplog):
    import cosmic_morph.manifest as mf
    s = ImageStore(f"memory://cm-pytest/plain-{uuid.uuid4().hex[:6]}"); f = s.put_image(encode_png(np.ones((8, 8), np.uint8)))
    monkeypatch.setattr(mf, "_exclusive_create_works", lambda store: False)
    with caplog.at_level(logging.WARNING, logger="cosmic_morph"):
        for i in range(3):
            w = ManifestWriter(s); w.add(dict(image_id=f"x:{i}", source="x", **f)); w.flush()
    lines = [r.message for r in caplog.records if "serialised within this process only" in r.message]
    assert len(lines) == 1 and len(load_manifest(s)) == 3
