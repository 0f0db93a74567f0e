"""GZ2 (Hart16, Kaggle) and Galaxy10 loaders on the fixtures: bad files, bad rows, and a store left intact."""
import shutil
from pathlib import Path
import numpy as np, pandas as pd, h5py, pytest
from cosmic_morph.manifest import ImageStore, load_manifest, read_meta
from cosmic_morph.ingest import ingest
from cosmic_morph.ingest.gz_votes import GZ2_TASKS, VOTE_COLUMNS
from cosmic_morph.ingest.gz2 import ingest_gz2, ingest_gz2_kaggle, kaggle_to_conditional, kaggle_columns
from cosmic_morph.ingest.galaxy10 import ingest_galaxy10, G10_CLASSES

FIX = Path(__file__).parents[1]/"data"/"fixtures"

@pytest.fixture
def fx(tmp_path):
    d = tmp_path/"fx"; shutil.copytree(FIX, d, ignore=shutil.ignore_patterns("*.py")); return d

def _gz2(store, fx, table=None, **kw):
    return ingest_gz2(store, table or fx/"gz2_hart16.csv.gz", fx/"gz2_filename_mapping.csv", fx/"images_gz2"/"images", progress=False, **kw)

def _snapshot(store):
    return {p.relative_to(store): p.read_bytes() for p in Path(store).rglob("*") if p.is_file()}

@pytest.fixture
def filled(tmp_path, fx):
    "A store that already holds Galaxy10 rows, to prove failed ingests leave it untouched."
    s = tmp_path/"store"; ingest_galaxy10(s, fx/"Galaxy10_DECals_tiny.h5", per_class=1, progress=False); return s

def test_wrong_files_fail_in_one_line_and_touch_nothing(filled, fx):
    before = _snapshot(filled)
    t = pd.read_csv(fx/"gz2_hart16.csv.gz"); t.drop(columns=["t06_odd_a14_yes_debiased"]).to_csv(fx/"cut.csv", index=False)
    cases = [(fx/"cut.csv", r"cut.csv: not a GZ2 vote table with debiased fractions: missing column\(s\) t06_odd_a14_yes_debiased "
                            r"\(1 in all\); it has fraction and weighted_fraction fractions$"),
             (fx/"Galaxy10_DECals_tiny.h5", r"Galaxy10_DECals_tiny.h5: not a readable GZ2 vote table CSV"),
             (fx/"nope.csv", r"nope.csv: GZ2 vote table not found")]
    for table, msg in cases:
        with pytest.raises(ValueError, match=msg) as e: _gz2(filled, fx, table)
        assert "\n" not in str(e.value)
    with pytest.raises(ValueError, match="training_solutions_rev1.csv: not a Kaggle training_solutions_rev1: missing column"):
        ingest_gz2_kaggle(filled, _drop(fx/"training_solutions_rev1.csv", "Class11.6"), fx/"images_training_rev1")
    with pytest.raises(ValueError, match="fraction kind 'raw'"): _gz2(filled, fx, fraction="raw")
    with pytest.raises(ValueError, match="gz2_hart16.csv.gz: not an HDF5 file"): ingest_galaxy10(filled, fx/"gz2_hart16.csv.gz")
    with h5py.File(fx/"bad.h5", "w") as f: f["images"] = np.zeros((2, 4, 4, 3), np.uint8); f["ans"] = [0, 1]
    with pytest.raises(ValueError, match=r"bad.h5: not a Galaxy10 DECaLS file: missing dataset\(s\) ra, dec, redshift, pxscale"):
        ingest_galaxy10(filled, fx/"bad.h5")
    assert _snapshot(filled) == before

def _drop(path, col):
    df = pd.read_csv(path); df.drop(columns=[col]).to_csv(path, index=False); return path

def test_bad_rows_are_reported_not_stored(filled, fx):
    t = pd.read_csv(fx/"gz2_hart16.csv.gz", dtype={"dr7objid": str})
    mp = pd.read_csv(fx/"gz2_filename_mapping.csv", dtype=str)
    ids = t.dr7objid.tolist()
    t.loc[1, "t01_smooth_or_features_a02_features_or_disk_debiased"] = np.nan
    t.loc[1, "t01_smooth_or_features_a02_features_or_disk_weighted_fraction"] = np.nan  # nothing to fill the hole from
    t.loc[5, "t02_edgeon_a05_no_debiased"] = np.nan                                     # filled from weighted_fraction
    t.loc[2, "t02_edgeon_a04_yes_debiased"] = 1.7
    t.loc[len(t)] = t.loc[9]; t.loc[len(t) - 1, "dr7objid"] = "123"                       # an id the mapping lacks
    t.to_csv(fx/"bad.csv", index=False)
    asset = dict(zip(mp.objid, mp.asset_id))
    (fx/"images_gz2"/"images"/f"{asset[ids[3]]}.jpg").unlink()                            # image missing
    (fx/"images_gz2"/"images"/f"{asset[ids[4]]}.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")   # corrupt
    before = load_manifest(filled)
    m = _gz2(filled, fx, fx/"bad.csv")
    skipped = m.attrs["report"]["skipped"]
    assert skipped[:3] == [f"bad.csv line 3 (dr7objid {ids[1]}): missing value in vote_t01_smooth_or_features_a02_features_or_disk",
                           f"bad.csv line 4 (dr7objid {ids[2]}): vote_t02_edgeon_a04_yes outside [0, 1]",
                           "bad.csv line 12 (dr7objid 123): no image in gz2_filename_mapping.csv"]
    assert skipped[3].startswith(f"bad.csv line 5 (dr7objid {ids[3]}): gz2:{ids[3]}: missing file ")
    assert skipped[4].startswith(f"bad.csv line 6 (dr7objid {ids[4]}): gz2:{ids[4]}: not a readable image")
    gz = m[m.source == "gz2"]
    assert sorted(gz.image_id) == sorted(f"gz2:{i}" for i in ids[:1] + ids[5:])
    assert len(m) == len(before) + 6 and set(before.image_id) <= set(m.image_id)
    r5 = gz[gz.image_id == f"gz2:{ids[5]}"].iloc[0]
    assert read_meta(r5.meta)["filled_from_weighted_fraction"] == ["t02_edgeon_a05_no"]
    assert r5.vote_t02_edgeon_a05_no == t.loc[5, "t02_edgeon_a05_no_weighted_fraction"]
    n_files = len(list((Path(filled)/"images").rglob("*.*")))
    assert n_files == m.sha256.nunique()                                                    # the corrupt file was not stored

def test_fraction_kinds_and_thresholds(tmp_path, fx):
    a = _gz2(tmp_path/"a", fx, fraction="fraction")
    b = _gz2(tmp_path/"b", fx, thresholds=dict(smooth=0.3))
    t = pd.read_csv(fx/"gz2_hart16.csv.gz", dtype={"dr7objid": str}).set_index("dr7objid")
    for r in a.itertuples():
        assert r.vote_t01_smooth_or_features_a01_smooth == t.loc[r.image_id[4:], "t01_smooth_or_features_a01_smooth_fraction"]
    assert (b.label == "elliptical").sum() > (a.label == "elliptical").sum()

def test_kaggle_recovers_conditional_fractions(tmp_path, fx):
    sol = pd.read_csv(fx/"training_solutions_rev1.csv")
    cond = kaggle_to_conditional(sol)
    for t, answers in GZ2_TASKS.items():                      # each reached task's answers sum to 1 again
        cols = [f"vote_{t}_{a}" for a in answers]; s = cond[cols].sum(axis=1)
        assert np.allclose(s[s > 0], 1, atol=1e-3)
    sol.loc[0, "Class6.1"] = 0; sol.loc[0, [f"Class8.{j}" for j in range(1, 8)]] = 0
    assert (kaggle_to_conditional(sol).loc[0, [c for c in VOTE_COLUMNS if "t08_" in c]] == 0).all()
    m = ingest("gz2_kaggle", tmp_path, solutions=fx/"training_solutions_rev1.csv", images=fx/"images_training_rev1",
               captioner=lambda v: "round" if v["vote_t01_smooth_or_features_a01_smooth"] > 0.5 else "disc", progress=False)
    assert len(m) == 6 and m.image_id.str.match(r"gzk:\d+$").all() and set(m.caption) == {"round", "disc"}

def test_galaxy10_streams_in_chunks_into_memory_store(fx):
    with h5py.File(fx/"Galaxy10_DECals_tiny.h5", "a") as f: f["ans"][7] = 12            # one bad class value
    m = ingest("galaxy10", "memory://cm-pytest/g10", h5=fx/"Galaxy10_DECals_tiny.h5", chunk=4, progress=False)
    assert len(m) == 19 and m.attrs["report"]["skipped"] == ["Galaxy10_DECals_tiny.h5 row 7: class 12 is not 0-9"]
    assert set(m.label) == set(G10_CLASSES) and m.image_id.str.match(r"g10:\d+$").all()
    meta = read_meta(m.meta[0]); assert set(meta) >= {"ra", "dec", "redshift", "pxscale"}
    again = ingest_galaxy10("memory://cm-pytest/g10", fx/"Galaxy10_DECals_tiny.h5", chunk=7, progress=False)
    assert again.sha256.tolist() == m.sha256.tolist()
