"""The loaders on real third-party files in `../shared/data` (never copied into the repository): GZ2, GZ1, Galaxy10,
a folder of images, and the CLI over them. Skipped, with the reason, where that folder is absent."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, h5py, pytest
from PIL import Image
from cosmic_morph.manifest import ImageStore, read_meta
from cosmic_morph.ingest.core import files_by_stem
from cosmic_morph.ingest.gz_votes import GZ5_CLASSES, VOTE_COLUMNS, gz5_labels
from cosmic_morph.ingest.gz2 import ingest_gz2, read_gz2_table, hart16_vote_columns
from cosmic_morph.ingest.gz1 import ingest_gz1, read_gz1_table, gz5_from_gz1_class, GZ1_VOTES
from cosmic_morph.ingest.galaxy10 import ingest_galaxy10, G10_CLASSES
from cosmic_morph.ingest.folder import ingest_folder

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent/"shared"/"data"
pytestmark = pytest.mark.skipif(not SHARED.exists(), reason="../shared/data not found: real-data tests need the "
                                                            "shared data folder beside the repository")
GZ2, GZ1, G10 = SHARED/"gz2", SHARED/"gz1", SHARED/"galaxy10_decals_sample"
GZ2_DEBIASED = {"ambiguous": 289, "edge-on": 144, "elliptical": 133, "spiral": 123, "merger": 11}
GZ2_WEIGHTED = {"elliptical": 287, "ambiguous": 254, "edge-on": 93, "spiral": 43, "merger": 23}
GZ1_GZ5 = {"elliptical": 4644, "edge-on": 996, "spiral": 850, "merger": 115, "ambiguous": 56}

def _gz2(store, table=GZ2/"gz2_hart16.csv", **kw):
    return ingest_gz2(store, table, GZ2/"gz2_filename_mapping.csv", GZ2/"images_gz2"/"images", progress=False, **kw)

# --- Galaxy Zoo 2 -------------------------------------------------------------------------------------------------

def test_gz2_all_700_real_rows(tmp_path):
    m = _gz2(tmp_path/"s")
    assert len(m) == 700 and m.attrs["report"]["skipped"] == []              # every row labelled, every image found
    assert m.label.value_counts().to_dict() == GZ2_DEBIASED
    votes = m[VOTE_COLUMNS]
    assert votes.notna().all().all() and ((votes >= 0) & (votes <= 1)).all().all()
    assert set(m.width) == {424} and set(m.height) == {424} and m.image_id.str.match(r"gz2:\d{18}$").all()
    metas = [read_meta(x) for x in m.meta]
    assert all(x["fraction"] == "debiased" and "ra" not in x and "gz2_class" in x for x in metas)   # no positions here
    filled = [x for x in metas if "filled_from_weighted_fraction" in x]
    assert len(filled) == 1 and len(filled[0]["filled_from_weighted_fraction"]) == 4

def test_gz2_soft_labels_on_the_real_votes():
    "The soft Willett rules on the 700 real vote rows: distributions, the hard labels when cold, spread when warm."
    from cosmic_morph.ingest.gz_votes import gz5_soft_labels
    from cosmic_morph.data.loaders import soft_targets
    t, _ = read_gz2_table(GZ2/"gz2_hart16.csv", "debiased")
    cols = hart16_vote_columns("debiased")
    votes = t[list(cols)].rename(columns=cols).fillna(0.0)
    hard = gz5_labels(votes)
    cold, warm = gz5_soft_labels(votes, 1e-4), gz5_soft_labels(votes, 0.1)
    assert np.allclose(cold.sum(axis=1), 1) and np.allclose(warm.sum(axis=1), 1)
    assert (cold.idxmax(axis=1) == hard).mean() > 0.99                      # ties exactly on a threshold may differ
    assert warm.max(axis=1).mean() < cold.max(axis=1).mean() - 0.05         # warm: near-threshold galaxies spread
    rows = votes.assign(label=hard)
    y = soft_targets(rows, sorted(GZ5_CLASSES), 0.1)
    assert y.shape == (len(rows), 5) and np.allclose(y, warm[sorted(GZ5_CLASSES)].to_numpy(), atol=1e-6)

def test_gz2_weighted_fraction_on_the_real_table(tmp_path):
    t, idc = read_gz2_table(GZ2/"gz2_hart16.csv", "weighted_fraction")
    cols = hart16_vote_columns("weighted_fraction")
    assert idc == "dr7objid" and gz5_labels(t[list(cols)].rename(columns=cols)).value_counts().to_dict() == GZ2_WEIGHTED
    m = _gz2(tmp_path/"s", fraction="weighted_fraction", per_class=2)
    assert m.label.value_counts().to_dict() == {c: 2 for c in GZ5_CLASSES}
    assert {read_meta(x)["fraction"] for x in m.meta} == {"weighted_fraction"}

def test_gz2_willett_objid_gzipped_column_subset(tmp_path):
    "A Willett-style copy of the real rows: id `objid`, debiased fractions only, gzipped."
    t = pd.read_csv(GZ2/"gz2_hart16.csv", dtype={"dr7objid": str})
    t = t[["dr7objid"] + list(hart16_vote_columns("debiased"))].rename(columns={"dr7objid": "objid"})
    t.to_csv(tmp_path/"willett.csv.gz", index=False)
    m = _gz2(tmp_path/"s", tmp_path/"willett.csv.gz", per_class=1)
    assert len(m) == 5 and m.image_id.str.startswith("gz2:").all()
    assert set(read_meta(m.meta[0])) == {"asset_id", "fraction", "licence", "survey"}

def test_gz2_missing_fraction_kind_is_one_line(tmp_path):
    with pytest.raises(ValueError) as e: _gz2(tmp_path/"s", fraction="fraction")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"{GZ2/'gz2_hart16.csv'}: not a GZ2 vote table with fraction fractions: "
                                              "missing column(s) t01_smooth_or_features_a03_star_or_artifact_fraction")
    assert msg.endswith("(35 in all); it has weighted_fraction and debiased fractions")
    assert not (tmp_path/"s"/"manifest.parquet").exists()

# --- Galaxy Zoo 1 -------------------------------------------------------------------------------------------------

def test_gz1_whole_class_table_and_its_images():
    t, layout = read_gz1_table(GZ1/"gz1_classes.csv")
    assert (len(t), layout) == (6661, "classes")
    assert t.CLASS.value_counts().to_dict() == {0: 4644, 3: 996, 2: 436, 1: 414, 5: 115, 4: 56}
    assert gz5_from_gz1_class(t.CLASS).value_counts().to_dict() == GZ1_GZ5
    assert set(t.OBJID) <= set(files_by_stem(GZ1/"images"))                   # every galaxy has its image

def test_gz1_per_class_sample(tmp_path):
    m = ingest_gz1(tmp_path/"s", GZ1/"gz1_classes.csv", GZ1/"images", per_class=3, progress=False)
    assert m.label.value_counts().to_dict() == {c: 3 for c in GZ5_CLASSES} and m.attrs["report"]["skipped"] == []
    assert set(m.width) == {423} and (m.source == "gz1").all() and (m.taxonomy == "gz5").all()
    assert m.image_id.str.match(r"gz1:\d{18}$").all()
    assert {read_meta(x)["gz1_class"] for x in m.meta} == {0, 1, 2, 3, 4, 5}

GZ1_VOTE_OF_CLASS = {0: "P_EL", 1: "P_CW", 2: "P_ACW", 3: "P_EDGE", 4: "P_DK", 5: "P_MG"}

def test_gz1_vote_table_layout(tmp_path):
    """A table in the Lintott et al. 2011 layout for two real galaxies of each class. We have no real GZ1 votes: each
    galaxy's fractions put 1.0 on its class's answer and its flags follow from that, so the two layouts must agree."""
    t = pd.read_csv(GZ1/"gz1_classes.csv", dtype={"OBJID": str}).groupby("CLASS").head(2).reset_index(drop=True)
    votes = pd.DataFrame({c: (t.CLASS.map(GZ1_VOTE_OF_CLASS) == c).astype(float) for c in GZ1_VOTES})
    table = pd.concat([t[["OBJID"]], votes], axis=1).assign(
        P_CS=votes.P_CW + votes.P_ACW + votes.P_EDGE, SPIRAL=t.CLASS.isin([1, 2, 3]).astype(int),
        ELLIPTICAL=(t.CLASS == 0).astype(int), UNCERTAIN=t.CLASS.isin([4, 5]).astype(int))
    table.to_csv(tmp_path/"GalaxyZoo1_DR_table2.csv", index=False)
    m = ingest_gz1(tmp_path/"s", tmp_path/"GalaxyZoo1_DR_table2.csv", GZ1/"images", progress=False)
    expected = dict(zip("gz1:" + t.OBJID, gz5_from_gz1_class(t.CLASS)))
    assert len(m) == 12 and m.set_index("image_id").label.to_dict() == expected
    meta = read_meta(m.meta[0])
    assert meta["layout"] == "votes" and {"p_el", "p_mg", "spiral", "elliptical", "uncertain"} <= set(meta)

# --- Galaxy10 DECaLS ----------------------------------------------------------------------------------------------

def test_galaxy10_h5_in_the_real_layout(tmp_path):
    """An HDF5 file with the keys and dtypes of `Galaxy10_DECals.h5`, built from the 100 real sample images. The sample
    has no positions, redshifts or pixel scales: `ra`, `dec` (0), `redshift` (NaN) and `pxscale` (0.262) are
    placeholders here, only there so the file has every dataset the real one has."""
    labels = pd.read_csv(G10/"labels.csv")
    images = np.stack([np.asarray(Image.open(G10/f).convert("RGB")) for f in labels.file])
    n = len(labels)
    with h5py.File(tmp_path/"Galaxy10_DECals.h5", "w") as f:
        f["images"] = images; f["ans"] = labels.ans.to_numpy(np.uint8)
        f["ra"], f["dec"] = np.zeros(n), np.zeros(n)
        f["redshift"], f["pxscale"] = np.full(n, np.nan), np.full(n, 0.262)
    assert images.shape == (100, 256, 256, 3) and images.dtype == np.uint8
    m = ingest_galaxy10(tmp_path/"s", tmp_path/"Galaxy10_DECals.h5", chunk=32, progress=False)
    assert len(m) == 100 and m.label.value_counts().to_dict() == {c: 10 for c in G10_CLASSES}
    r = m[m.image_id == "g10:37"].iloc[0]
    stored = np.asarray(Image.open(ImageStore(tmp_path/"s").local_path(r.uri)))
    assert (stored == images[37]).all() and r.label == G10_CLASSES[labels.ans[37]]   # lossless, and the right class

# --- A folder of images -------------------------------------------------------------------------------------------

def _class_tree(root):
    "The 100 Galaxy10 sample images sorted into one subfolder per class (a temporary copy), plus two bad files."
    labels = pd.read_csv(G10/"labels.csv")
    for f, ans in zip(labels.file, labels.ans):
        d = root/G10_CLASSES[ans].replace(" ", "_"); d.mkdir(parents=True, exist_ok=True)
        shutil.copy(G10/f, d/Path(f).name)
    (root/"Disturbed"/"notes.txt").write_text("not an image")
    (root/"readme.jpg").write_bytes((G10/labels.file[0]).read_bytes())         # loose: in no class folder
    return root

def test_folder_of_real_images(tmp_path):
    tree = _class_tree(tmp_path/"g10")
    m = ingest_folder(tmp_path/"s", tree, "g10sample", progress=False)
    assert len(m) == 100 and m.label.value_counts().to_dict() == {c.replace(" ", "_"): 10 for c in G10_CLASSES}
    assert m.image_id.str.startswith("folder:g10sample/").all() and (m.source == "folder").all()
    skipped = m.attrs["report"]["skipped"]
    assert skipped[0] == "readme.jpg: not in a class subfolder"
    assert len(skipped) == 2 and skipped[1].startswith("Disturbed/notes.txt: folder:g10sample/Disturbed/notes.txt: "
                                                       "not a readable image")

# --- The CLI over real files --------------------------------------------------------------------------------------

def cli(*args):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([str(Path(sys.executable).parent/"cosmic-morph"), *map(str, args)], capture_output=True,
                       text=True, timeout=300, env=env)
    return r.returncode, r.stdout, r.stderr

def test_cli_ingest_gz1_and_folder(tmp_path):
    rc, out, err = cli("ingest", "gz1", "--store", tmp_path/"s", "--table", GZ1/"gz1_classes.csv", "--images",
                       GZ1/"images", "--per-class", 2)
    assert rc == 0, err
    assert json.loads(out.splitlines()[-1])["labels"] == {c: 2 for c in GZ5_CLASSES}
    tree = _class_tree(tmp_path/"g10")
    rc, out, err = cli("ingest", "folder", "--store", tmp_path/"s", "--path", tree, "--taxonomy", "g10sample",
                       "--per-class", 1)
    assert rc == 0, err
    res = json.loads(out.splitlines()[-1])
    assert (res["source_rows"], res["rows"]) == (10, 20)                       # beside the ten GZ1 rows

def test_cli_ingest_gz2_real(tmp_path):
    rc, out, err = cli("ingest", "gz2", "--store", tmp_path/"s", "--table", GZ2/"gz2_hart16.csv", "--mapping",
                       GZ2/"gz2_filename_mapping.csv", "--images", GZ2/"images_gz2"/"images", "--per-class", 1)
    assert rc == 0, err
    assert json.loads(out.splitlines()[-1])["labels"] == {c: 1 for c in GZ5_CLASSES}

def test_cli_bad_input_is_one_line(tmp_path):
    (tmp_path/"empty").mkdir()
    cases = [(["gz2", "--table", GZ2/"gz2_hart16.csv", "--mapping", GZ2/"gz2_filename_mapping.csv", "--images",
               GZ2/"images_gz2"/"images", "--fraction", "fraction"],
              f"{GZ2/'gz2_hart16.csv'}: not a GZ2 vote table with fraction fractions: missing column(s) "),
             (["gz1", "--table", GZ1/"gz1_classes.csv", "--images", tmp_path/"nope"],
              f"{tmp_path/'nope'}: GZ1 image folder not found"),
             (["folder", "--path", tmp_path/"empty", "--taxonomy", "mine"],
              f"{tmp_path/'empty'}: no class subfolders with files"),
             (["folder", "--path", GZ1/"gz1_classes.csv", "--taxonomy", "mine"],
              f"{GZ1/'gz1_classes.csv'}: image folder is a file, not a folder")]
    for args, msg in cases:
        rc, out, err = cli("ingest", args[0], "--store", tmp_path/"s", *args[1:])
        assert rc == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"cosmic-morph ingest: error: {msg}"), err
    assert not (tmp_path/"s"/"manifest.parquet").exists()

# --- training on the votes ----------------------------------------------------------------------------------------

def test_train_on_real_votes_saves_the_plain_classifier(tmp_path):
    "soft_labels and vote_head on real GZ2 rows: training runs, and the saved model is the five-class classifier alone."
    import torch, safetensors.torch
    from cosmic_morph.config import TrainConfig
    from cosmic_morph.manifest import load_manifest
    from cosmic_morph.split import split_store
    from cosmic_morph.train import train
    from cosmic_morph.models.core import load_model, create_model
    store = tmp_path/"s"
    _gz2(store, per_class=6)
    split_store(store, ratios=(0.6, 0.4, 0.0), seed=0, verify=False)
    cfg = TrainConfig.for_profile("smoke", epochs=1, num_threads=1, channels="rgb", soft_labels=0.1, vote_head=0.5)
    train(load_manifest(store), store, tmp_path/"m", cfg, seed=0, progress=False, lr_find=False)
    model = load_model(tmp_path/"m")
    saved = json.loads((tmp_path/"m"/"config.json").read_text())
    assert (saved["soft_labels"], saved["vote_head"]) == (0.1, 0.5) and saved["classes"] == sorted(GZ5_CLASSES)
    keys = set(safetensors.torch.load_file(tmp_path/"m"/"model.safetensors"))
    assert keys == set(create_model(cfg.arch, 5, verbose=False).state_dict())   # no vote head in the model
    assert model(torch.zeros(2, 3, cfg.image_size, cfg.image_size)).shape == (2, 5)
