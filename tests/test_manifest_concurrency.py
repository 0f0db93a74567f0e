"""Manifest commits are transactions: concurrent writers (real processes) and a split racing an ingest lose nothing."""
import json, os, subprocess, time
from pathlib import Path
import numpy as np, pytest
from conftest import CLI
from cosmic_morph.manifest import ImageStore, ManifestWriter, load_manifest, encode_png
from cosmic_morph.ingest.first import ingest_first
import cosmic_morph.split as split_mod

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))

def start(*args):
    "A `cosmic-morph` process running this worktree's code."
    return subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)

def finish(p):
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])

def ingest_synthetic(store, seed, n):
    return start("ingest", "synthetic", "--store", store, "--n", n, "--seed", seed, "--size", 32, "--workers", 1)

@pytest.mark.parametrize("writers", [2, 4])
def test_concurrent_ingests_lose_nothing(tmp_path, writers):
    store, n = tmp_path/"store", 6
    procs = [ingest_synthetic(store, seed, n) for seed in range(writers)]
    reports = [finish(p) for p in procs]
    m = load_manifest(store)
    assert [r["source_rows"] >= n for r in reports] == [True] * writers
    assert len(m) == writers * n                                          # rows kept == rows written
    assert sorted(m.image_id) == sorted(f"synth:{s}-{i}" for s in range(writers) for i in range(n))
    s = ImageStore(store)
    assert all(s.exists(u) for u in m.uri)
    assert list(store.glob("*.tmp")) == [] and not (store/"manifest.parquet.lease").exists()

def test_ingest_during_split_loses_nothing(tmp_path):
    store = tmp_path/"store"
    first = ingest_first(store, per_class=3, progress=False)
    files = lambda: len(list((store/"images").rglob("*.png")))
    before, ingest = files(), ingest_synthetic(store, 7, 60)
    t0 = time.monotonic()
    while files() == before and ingest.poll() is None and time.monotonic() - t0 < 60: time.sleep(0.05)
    split = start("split", "--store", store, "--seed", 1)    # the ingest has read the Manifest and is still rendering
    finish(split); finish(ingest)
    m = load_manifest(store)
    assert len(m) == len(first) + 60                                     # the ingest's rows survived the split
    assert m[m.source == "first"].split.notna().all()                    # and the split survived the ingest
    assert set(m[m.source == "synthetic"].image_id) == {f"synth:7-{i}" for i in range(60)}

def _rows(store, ids):
    s = ImageStore(store)
    facts = s.put_image(encode_png((np.arange(32*32).reshape(32, 32) * 7 % 251).astype(np.uint8)))
    return [dict(image_id=f"x:{i}", source="x", taxonomy="t", label="a", **facts) for i in ids]

def test_commit_during_split_is_kept(tmp_path, monkeypatch):
    "An ingest that commits while the split is being computed: its rows stay (unsplit), every split is assigned."
    store = tmp_path/"store"
    first = ingest_first(store, per_class=2, progress=False)
    compute = split_mod.split_manifest
    def racing(df, *a, **kw):
        w = ManifestWriter(store); [w.add(r) for r in _rows(store, range(5))]; w.flush()   # lands mid-split
        return compute(df, *a, **kw)
    monkeypatch.setattr(split_mod, "split_manifest", racing)
    out = split_mod.split_store(store, keep_source_split=False)
    m = load_manifest(store)
    assert len(m) == len(first) + 5 and len(out) == len(m)
    assert m[m.source == "first"].split.notna().all() and m[m.source == "x"].split.isna().all()

def test_writer_opened_before_split_keeps_the_split(tmp_path):
    "A writer that read the Manifest before a split and commits after it: the split assignments survive."
    store = tmp_path/"store"
    first = ingest_first(store, per_class=2, progress=False)
    w = ManifestWriter(store)                                            # reads the unsplit Manifest
    split_mod.split_store(store, keep_source_split=False)
    for r in _rows(store, range(3)): w.add(r)
    for r in first.head(2).to_dict("records"): w.add(r)                  # re-ingested rows keep their split
    m = w.flush()
    assert len(m) == len(first) + 3
    assert m[m.source == "first"].split.notna().all()
    assert load_manifest(store).equals(m)

WRITER = """
import sys, time
from pathlib import Path
from cosmic_morph.manifest import ManifestWriter, ImageStore, encode_png
import numpy as np
store, go = sys.argv[1], Path(sys.argv[2])
w = ManifestWriter(store)                                   # reads the Manifest now ...
facts = ImageStore(store).put_image(encode_png(np.full((32, 32), 9, np.uint8)))
for i in range(5): w.add(dict(image_id=f"w:{i}", source="w", taxonomy="t", label="a", **facts))
Path(go.with_suffix(".ready")).touch()
while not go.exists(): time.sleep(0.02)
w.flush()                                                   # ... and commits after another process's split
"""

def test_writer_process_spanning_a_split_process(tmp_path):
    "Real processes, fixed order: a writer reads, a `split` process commits, then the writer commits."
    store, go = tmp_path/"store", tmp_path/"go"
    first = ingest_first(store, per_class=2, progress=False)
    w = subprocess.Popen([str(Path(CLI).parent/"python"), "-c", WRITER, str(store), str(go)], env=ENV,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not go.with_suffix(".ready").exists() and w.poll() is None and time.monotonic() - t0 < 60: time.sleep(0.02)
    finish(start("split", "--store", store, "--seed", 1))
    go.touch(); _, err = w.communicate(timeout=60); assert w.returncode == 0, err
    m = load_manifest(store)
    assert len(m) == len(first) + 5
    assert m[m.source == "first"].split.notna().all() and m[m.source == "w"].split.isna().all()
