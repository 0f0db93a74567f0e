"""`cosmic-morph predict` on every kind of file a user may hand it: real files in many formats, and broken ones."""
import gzip, io, json, shutil, struct, subprocess, zlib
from pathlib import Path
import numpy as np, pytest, torch
from PIL import Image
from astropy.io import fits
from conftest import CLI
from cosmic_morph.manifest import ImageStore, load_manifest

def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600)

def lines_of(r): return [json.loads(l) for l in r.stdout.splitlines()]

def png_header_only(w, h):
    "A tiny PNG whose header claims w×h pixels: PIL refuses it at open time, nothing big is ever allocated."
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))

@pytest.fixture(scope="module")
def source(first_store):
    "A real FIRST cutout as a uint8 array (300×300)."
    uri = load_manifest(first_store).uri[0]
    return np.asarray(Image.open(ImageStore(first_store).local_path(uri)).convert("L"))

def test_every_format_gets_a_label(smoke_learner, source, tmp_path):
    _, model = smoke_learner
    f = {}
    f["grey.png"] = tmp_path/"grey.png"; Image.fromarray(source).save(f["grey.png"])
    f["rgba.png"] = tmp_path/"rgba.png"; Image.fromarray(source).convert("RGBA").save(f["rgba.png"])
    f["cmyk.jpg"] = tmp_path/"cmyk.jpg"; Image.fromarray(source).convert("CMYK").save(f["cmyk.jpg"], quality=95)
    f["deep.tif"] = tmp_path/"deep.tif"; Image.fromarray(source.astype(np.uint16) * 257).save(f["deep.tif"])
    f["float.tif"] = tmp_path/"float.tif"; Image.fromarray(source.astype(np.float32) / 255 * 2e-3).save(f["float.tif"])
    flux = (source.astype(np.float32) / 255 * 3e-3)[None, None]; flux[0, 0, 0, :5] = np.nan   # radio-style 4-D cube, blanked pixels
    f["map.fits"] = tmp_path/"map.fits"; fits.PrimaryHDU(flux).writeto(f["map.fits"])
    f["map.fits.gz"] = tmp_path/"map.fits.gz"; f["map.fits.gz"].write_bytes(gzip.compress(f["map.fits"].read_bytes()))
    r = run("predict", "--model", model, *f.values())
    assert r.returncode == 0, r.stderr
    out = lines_of(r)
    assert [l["path"] for l in out] == [str(p) for p in f.values()]
    classes = json.loads((model/"config.json").read_text())["classes"]
    for l in out:
        assert set(l) == {"path", "label", "probs"} and l["label"] in classes
        assert list(l["probs"]) == classes and abs(sum(l["probs"].values()) - 1) < 1e-4
    p = {Path(l["path"]).name: np.array(list(l["probs"].values())) for l in out}
    # the same pixels in another container give the same answer
    for name in ("rgba.png", "deep.tif", "float.tif", "map.fits", "map.fits.gz"):
        assert np.allclose(p[name], p["grey.png"], atol=2e-2), name
    assert np.allclose(p["map.fits"], p["map.fits.gz"], atol=1e-6)

def test_bad_files_are_one_line_each_and_the_batch_goes_on(smoke_learner, source, tmp_path):
    _, model = smoke_learner
    good = tmp_path/"good.png"; Image.fromarray(source).save(good)
    cases = {
        "empty.png": (b"", "empty file"),
        "text.jpg": (b"this is not a jpeg", "not a readable image"),
        "cut.png": (good.read_bytes()[:200], "not a readable image"),
        "cut.jpg": (None, "not a readable image"),
        "bomb.png": (png_header_only(30000, 30000), "refused, decompression bomb"),        # > 2×MAX_IMAGE_PIXELS: PIL's error
        "bomb-warn.png": (png_header_only(15000, 15000), "refused, decompression bomb"),   # > MAX_IMAGE_PIXELS: PIL's warning, refused too
        "cut.fits": (None, "not a readable FITS file"),
        "spectrum.fits": (None, "FITS file without 2-D or 3-D image data"),
    }
    buf = io.BytesIO(); Image.fromarray(source).save(buf, "JPEG"); cases["cut.jpg"] = (buf.getvalue()[:len(buf.getvalue()) // 2], cases["cut.jpg"][1])
    buf = io.BytesIO(); fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(source.astype(np.float32))]).writeto(buf)
    cases["cut.fits"] = (buf.getvalue()[:6000], cases["cut.fits"][1])
    buf = io.BytesIO(); fits.PrimaryHDU(np.arange(100.0)).writeto(buf); cases["spectrum.fits"] = (buf.getvalue(), cases["spectrum.fits"][1])
    for name, (data, _) in cases.items(): (tmp_path/name).write_bytes(data)
    folder = tmp_path/"a-folder"; folder.mkdir()
    args = [good, *[tmp_path/n for n in cases], folder, tmp_path/"missing.png", good]
    r = run("predict", "--model", model, *args)
    assert r.returncode == 1
    out = lines_of(r)
    assert [l["path"] for l in out] == [str(a) for a in args]
    assert "label" in out[0] and "label" in out[-1] and out[0]["probs"] == out[-1]["probs"]
    errors = {Path(l["path"]).name: l["error"] for l in out[1:-1]}
    assert all(set(l) == {"path", "error"} for l in out[1:-1])
    for name, (_, reason) in cases.items():
        assert errors[name].startswith(f"{tmp_path/name}: {reason}"), (name, errors[name])
    assert errors["a-folder"] == f"{folder}: is a folder, not an image"
    assert errors["missing.png"] == f"{tmp_path/'missing.png'}: no such file"
    assert all("\n" not in e for e in errors.values())
    assert "Traceback" not in r.stderr
    assert r.stderr.strip() == f"cosmic-morph predict: {len(errors)} of {len(args)} image(s) failed"

def _model_copy(model, tmp_path, **config):
    d = tmp_path/"model"; d.parent.mkdir(parents=True, exist_ok=True); shutil.copytree(model, d)
    cfg = json.loads((d/"config.json").read_text()); cfg.update(config); (d/"config.json").write_text(json.dumps(cfg))
    return d

def test_temperature_in_config_gives_calibrated_probs(smoke_learner, source, tmp_path):
    from cosmic_morph.models.core import load_model
    from cosmic_morph.inference import read_image, preprocess
    _, model = smoke_learner
    img = tmp_path/"a.png"; Image.fromarray(source).save(img)
    hot = _model_copy(model, tmp_path, temperature=4.0)
    p_raw = lines_of(run("predict", "--model", model, img))[0]["probs"]
    p_hot = lines_of(run("predict", "--model", hot, img))[0]["probs"]
    m = load_model(model, device="cpu")
    with torch.no_grad(): logits = m(preprocess(read_image(img), m.config)[None])[0]
    classes = m.config["classes"]
    assert np.allclose([p_raw[c] for c in classes], logits.softmax(-1).numpy(), atol=1e-4)
    assert np.allclose([p_hot[c] for c in classes], (logits / 4).softmax(-1).numpy(), atol=1e-4)

def test_crop_in_config_is_a_centre_crop(smoke_learner, source, tmp_path):
    _, model = smoke_learner
    full = tmp_path/"full.png"; Image.fromarray(source).save(full)
    centre = tmp_path/"centre.png"; Image.fromarray(source[100:200, 100:200]).save(centre)
    cropped = _model_copy(model, tmp_path/"a", crop=100)                    # `crop` (pixels) wins over training's center_crop
    whole = _model_copy(model, tmp_path/"b", center_crop=1.0)               # no crop at all
    a = lines_of(run("predict", "--model", cropped, full))[0]["probs"]
    b = lines_of(run("predict", "--model", whole, centre))[0]["probs"]
    assert np.allclose(list(a.values()), list(b.values()), atol=1e-5)

def test_tta_flag(smoke_learner, source, tmp_path):
    _, model = smoke_learner
    img = tmp_path/"a.png"; Image.fromarray(source).save(img)
    r = run("predict", "--tta", "--model", model, img)
    assert r.returncode == 0
    assert abs(sum(lines_of(r)[0]["probs"].values()) - 1) < 1e-4
