"""The console script as a user runs it: exit codes, JSON lines, one-line errors, no tracebacks."""
import json, subprocess
from pathlib import Path
import numpy as np
from PIL import Image
from conftest import CLI
from cosmic_morph.manifest import ImageStore, load_manifest

def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600)

def test_predict_batch_goes_on_past_bad_files(first_store, smoke_learner, tmp_path):
    _, model = smoke_learner
    good = ImageStore(first_store).local_path(load_manifest(first_store).uri[0])
    (tmp_path/"empty.png").write_bytes(b"")
    (tmp_path/"text.jpg").write_text("this is not a jpeg")
    png = (tmp_path/"cut.png"); png.write_bytes(Path(good).read_bytes()[:60])   # truncated PNG
    Image.fromarray((np.random.default_rng(0).random((40, 50)) * 65535).astype(np.uint16)).save(tmp_path/"deep.tif")
    r = run("predict", "--model", model, good, tmp_path/"empty.png", tmp_path/"text.jpg", png, tmp_path/"deep.tif", tmp_path/"missing.png")
    assert r.returncode == 1
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert [("label" in l) for l in lines] == [True, False, False, False, True, False]
    assert lines[0]["label"] in ["Bent", "Compact", "FRI", "FRII"]
    assert abs(sum(lines[0]["probs"].values()) - 1) < 1e-4
    assert lines[1]["error"] == f"{tmp_path/'empty.png'}: empty file"
    assert lines[2]["error"].startswith(f"{tmp_path/'text.jpg'}: not a readable image")
    assert lines[5]["error"].endswith("missing.png: no such file")
    assert "Traceback" not in r.stderr and r.stderr.strip() == "cosmic-morph predict: 4 of 6 image(s) failed"

def test_predict_all_good_exits_zero(first_store, smoke_learner):
    _, model = smoke_learner
    uris = load_manifest(first_store).uri[:3]
    r = run("predict", "--model", model, *[ImageStore(first_store).local_path(u) for u in uris])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 3

def test_bad_model_folder_is_one_line(tmp_path):
    r = run("predict", "--model", tmp_path, "x.png")
    assert r.returncode == 2
    assert r.stderr.strip() == f"cosmic-morph predict: error: {tmp_path}: not a model folder (no config.json)"

FIX = Path(__file__).resolve().parents[1]/"data"/"fixtures"

def _json(r): return json.loads(r.stdout.strip().splitlines()[-1])

def test_ingest_nasa_against_local_server(tmp_path):
    from cosmic_morph.testing import FakeNasaServer, fake_catalogue
    with FakeNasaServer(fake_catalogue(n=6)) as srv:
        r = run("ingest", "nasa", "--store", tmp_path/"s", "--classes", "galaxy,comet", "--per-class", 3, "--api-url", srv.url,
                "--concurrency", 4)
    assert r.returncode == 0, r.stderr
    assert _json(r)["labels"] == {"galaxy": 3, "comet": 3}

def test_ingest_gz2_galaxy10_fixtures(tmp_path):
    s = tmp_path/"s"
    r = run("ingest", "gz2", "--store", s, "--table", FIX/"gz2_hart16.csv.gz", "--mapping", FIX/"gz2_filename_mapping.csv",
            "--images", FIX/"images_gz2"/"images")
    assert r.returncode == 0, r.stderr
    gz2 = _json(r); assert gz2["source_rows"] > 0 and set(gz2["labels"]) <= {"spiral", "elliptical", "edge-on", "merger", "ambiguous"}
    m = load_manifest(s)
    assert m[m.source == "gz2"].caption.notna().all()           # GZ2 rows get templated captions
    r = run("ingest", "galaxy10", "--store", s, "--h5", FIX/"Galaxy10_DECals_tiny.h5")
    assert r.returncode == 0, r.stderr
    assert _json(r)["source_rows"] > 0 and _json(r)["rows"] == gz2["rows"] + _json(r)["source_rows"]

def test_ingest_missing_flag_is_one_line(tmp_path):
    r = run("ingest", "gz2", "--store", tmp_path/"s", "--table", FIX/"gz2_hart16.csv.gz")
    assert r.returncode == 2 and r.stderr.strip() == "cosmic-morph ingest: error: ingest gz2 needs --mapping and --images"

def test_ingest_synthetic_same_seed_same_images(tmp_path):
    for d in ("a", "b"):
        r = run("ingest", "synthetic", "--store", tmp_path/d, "--n", 5, "--seed", 3, "--size", 48, "--workers", 1)
        assert r.returncode == 0, r.stderr
        assert _json(r)["source_rows"] == 5
    a, b = load_manifest(tmp_path/"a"), load_manifest(tmp_path/"b")
    assert list(a.sha256) == list(b.sha256) and a.caption.notna().all()

def test_evaluate_prints_metrics_json(first_store, smoke_learner, tmp_path):
    import shutil
    model = tmp_path/"model"; shutil.copytree(smoke_learner[1], model)   # evaluate writes the temperature into the model
    r = run("evaluate", "--store", first_store, "--model", model, "--out", tmp_path/"eval", "--no-calibrate")
    assert r.returncode == 0, r.stderr
    assert "temperature" not in json.loads((model/"config.json").read_text())     # --no-calibrate leaves the model as it was
    m = json.loads(r.stdout.splitlines()[-1])
    assert m["n"] == 12 and set(m["per_class"]) == {"Bent", "Compact", "FRI", "FRII"}
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1
    assert (tmp_path/"eval"/"confusion.png").stat().st_size > 1000

def test_split_unknown_store_is_one_line(tmp_path):
    r = run("split", "--store", tmp_path/"nothing-here", "--ratios", "0.5,0.5,0.5")
    assert r.returncode == 2 and "ratios '0.5,0.5,0.5'" in r.stderr

def test_train_d4cnn_is_rotation_invariant_end_to_end(first_store, tmp_path):
    "`train --arch d4cnn --opt adamw` → a model folder that evaluate (with Grad-CAM) and predict load; rotated/mirrored copies score alike."
    model = tmp_path/"d4"
    r = run("train", "--store", first_store, "--out", model, "--profile", "smoke", "--arch", "d4cnn", "--taxonomy", "first4", "--seed", "0",
            "--opt", "adamw", "--batch-size", 4)   # torch's AdamW (the gpu profile's optimizer) through the whole path
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["arch"] == "d4cnn"
    assert json.loads((model/"config.json").read_text())["opt"] == "adamw"
    r = run("evaluate", "--store", first_store, "--model", model, "--out", tmp_path/"eval", "--no-calibrate")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["n"] == 12 and (tmp_path/"eval"/"gradcam.png").stat().st_size > 1000
    src = Image.open(ImageStore(first_store).local_path(load_manifest(first_store).uri[0])).convert("L")
    paths = []
    for name, op in [("id", None), ("rot90", Image.Transpose.ROTATE_90), ("flip", Image.Transpose.FLIP_LEFT_RIGHT), ("rot270", Image.Transpose.ROTATE_270)]:
        (src if op is None else src.transpose(op)).save(tmp_path/f"{name}.png"); paths.append(tmp_path/f"{name}.png")
    r = run("predict", "--model", model, *paths)
    assert r.returncode == 0, r.stderr
    probs = [json.loads(l)["probs"] for l in r.stdout.splitlines()]
    for p in probs[1:]:
        assert max(abs(p[c] - probs[0][c]) for c in p) < 1e-3

def test_run_real_galaxy_folders_are_checked_first(tmp_path):
    "A wrong --gz2/--gz1 is one line and exit 2 before the run folder is made."
    r = run("run", "--profile", "smoke", "--out", tmp_path/"r", "--gz1", tmp_path)
    assert r.returncode == 2 and r.stderr.strip().endswith("--gz1 needs --gz2: GZ1 galaxies pretrain the model that learns GZ2 galaxies")
    r = run("run", "--profile", "smoke", "--out", tmp_path/"r", "--gz2", tmp_path/"nope")
    assert r.returncode == 2 and r.stderr.strip() == f"cosmic-morph run: error: {tmp_path/'nope'}: GZ2 folder not found"
    r = run("run", "--profile", "smoke", "--out", tmp_path/"r", "--gz2", tmp_path)
    assert r.returncode == 2 and "no GZ2 vote table" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path/"r").exists()
