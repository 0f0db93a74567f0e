"""The split on real FIRST images with planted exact and near duplicates: no group crosses splits, classes
reach every split, the same seed gives the same split, a leaking published split is found and resolved."""
import json
import numpy as np, pandas as pd, pytest
from cosmic_morph.manifest import load_manifest, save_manifest, ImageStore, read_meta, to_meta, manifest_from_records
from cosmic_morph.ingest.first import ingest_first
from cosmic_morph.eda import plant_near_duplicates
from cosmic_morph.split import (split_store, split_manifest, check_no_leakage, leakage_report, near_duplicate_groups,
                                label_conflicts, LeakageError, SPLITS)

@pytest.fixture()
def planted_store(tmp_path):
    "A tiny FIRST store (3 per split and class) plus exact and near copies of four non-compact images."
    d = tmp_path/"store"
    m = ingest_first(d, per_class=3, progress=False)
    src = m[m.label != "Compact"].image_id.iloc[[0, 4, 9, 14]].tolist()
    near = pd.concat([plant_near_duplicates(m, d, src, ["jpeg75"]),                       # JPEG copies of all four
                      plant_near_duplicates(m, d, src[:2], ["bright0.8", "resize0.9"]),
                      plant_near_duplicates(m, d, src[:1], ["noise4"])], ignore_index=True)
    exact = m[m.image_id.isin(src)].assign(image_id=lambda x: x.image_id + "~exact")   # same bytes, new id
    all_ = manifest_from_records(pd.concat([m, near, exact], ignore_index=True).to_dict("records"))
    save_manifest(all_, d)
    return d, src

def _members(df, original):
    return df[(df.image_id == original) | df.image_id.str.startswith(original + "~")]

def test_planted_duplicates_share_a_split(planted_store):
    d, src = planted_store
    m = split_store(d, seed=3, keep_source_split=False)
    for o, n in zip(src, [6, 5, 3, 3]):
        assert len(_members(m, o)) == n and _members(m, o).split.nunique() == 1, o
    g = near_duplicate_groups(m, store=d)
    assert all(g[_members(m, o).index].nunique() == 1 for o in src)
    r = check_no_leakage(m, store=d)
    assert r["groups_crossing_splits"] == 0 and r["exact_duplicate_rows"] == 4 and r["duplicate_rows"] >= 13
    assert json.loads((d/"split_report.json").read_text())["leakage"]["groups_crossing_splits"] == 0

def test_every_class_in_every_split_and_seeded(planted_store):
    d, _ = planted_store
    m = load_manifest(d)
    a = split_manifest(m, seed=7, keep_source_split=False, store=d)
    b = split_manifest(m, seed=7, keep_source_split=False, store=d)
    c = split_manifest(m, seed=8, keep_source_split=False, store=d)
    assert a.split.tolist() == b.split.tolist() and a.split.tolist() != c.split.tolist()
    assert (a.groupby("label").split.nunique() == 3).all()     # 9+ groups per class: every class in every split
    assert set(a.split) == set(SPLITS)

def test_moving_a_copy_is_caught(planted_store):
    d, src = planted_store
    m = split_store(d, seed=1, keep_source_split=False)
    i = m.index[m.image_id == src[0] + "~jpeg75"][0]
    m.loc[i, "split"] = next(s for s in SPLITS if s != m.split[i])
    with pytest.raises(LeakageError, match="1 duplicate group"):
        check_no_leakage(m, store=d)
    assert leakage_report(m, max_distance=None)["groups_crossing_splits"] == 0     # an exact-only check misses it

def test_leaking_published_split_is_resolved(planted_store):
    d, src = planted_store
    m = load_manifest(d)
    for i in _members(m, src[1]).index:               # publish the copies across all three splits
        k = list(_members(m, src[1]).index).index(i)
        m.loc[i, "meta"] = to_meta(read_meta(m.meta[i]) | dict(source_split=SPLITS[k % 3]))
    save_manifest(m, d)
    with pytest.raises(LeakageError, match="published split leaks: 1 duplicate group"):
        split_store(d, source_leaks="raise")
    assert load_manifest(d).split.isna().all()          # a refused split leaves the stored Manifest as it was
    out = split_store(d)                               # default: the group goes to train
    assert set(_members(out, src[1]).split) == {"train"}
    rep = out.attrs["split_report"]
    assert rep["source_split"]["groups_crossing_splits"] == 1 and len(rep["moved"]) == 3   # 5 members published as train, valid, test, train, valid
    unmoved = out[~out.image_id.isin([r["image_id"] for r in rep["moved"]])]
    assert (unmoved.split == [read_meta(x)["source_split"] for x in unmoved.meta]).all()   # everything else kept

def test_label_conflicts_reported(planted_store):
    d, src = planted_store
    m = load_manifest(d)
    i = m.index[m.image_id == src[2] + "~exact"][0]
    other = next(l for l in ["FRI", "FRII", "Bent"] if l != m.label[i])
    m.loc[i, "label"] = other
    before = len(label_conflicts(load_manifest(d), store=d))
    lc = label_conflicts(m, store=d)
    assert len(lc) == before + 1
    mine = lc[lc.image_ids.map(lambda ids: src[2] in ids)].iloc[0]
    assert other in mine.labels and src[2] + "~exact" in mine.image_ids
    save_manifest(m, d)
    out = split_store(d, keep_source_split=False)
    assert out.attrs["split_report"]["leakage"]["label_conflicts"] == before + 1
    assert len(json.loads((d/"split_report.json").read_text())["label_conflicts"]) == before + 1

def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such store"): split_store(tmp_path)
    assert list(tmp_path.iterdir()) == []                              # reading a missing store created nothing
    save_manifest(load_manifest(tmp_path, missing_ok=True), tmp_path)
    with pytest.raises(ValueError, match="no manifest rows to split"): split_store(tmp_path)
    m = ingest_first(tmp_path/"s", per_class=1, progress=False)
    with pytest.raises(ValueError, match="ratios '0.5,0.1'"): split_manifest(m, ratios="0.5,0.1")
    with pytest.raises(ValueError, match="source_leaks 'drop'"): split_manifest(m, source_leaks="drop")
    bad = m.assign(phash=["not-hex"] + list(m.phash[1:]))
    with pytest.raises(ValueError, match="phash 'not-hex'"): split_manifest(bad)

def test_rehash_restores_the_current_hash(tmp_path):
    m = ingest_first(tmp_path, per_class=1, progress=False)
    save_manifest(m.assign(phash="0000000000000000"), tmp_path)        # as if written with another hash
    out = split_store(tmp_path, rehash=True, keep_source_split=False)
    assert out.phash.tolist() == m.phash.tolist()
