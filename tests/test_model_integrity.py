"""Model folders that never lose, leak or lie: kills at every step of a save, refused arguments that leave a finished
model as it was, bad numbers and bad files as one-line errors (real processes where it matters)."""
import json, os, pickle, shutil, subprocess, sys, textwrap
from pathlib import Path
import pytest
import torch
from conftest import CLI

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=str(ROOT))

def run(*args, timeout=300):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=ENV)

def one_line_error(r, command:str) -> str:
    "The one error line of a failed command (exit 2; progress bars aside), without `cosmic-morph <command>: error: `."
    lines = [l for l in r.stderr.strip().splitlines() if l.startswith("cosmic-morph")]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, (r.returncode, r.stderr)
    assert r.stderr.strip().endswith(lines[0]) and lines[0].startswith(f"cosmic-morph {command}: error: "), lines[0]
    return lines[0].split(": error: ", 1)[1]

# --- a kill at each step of a save ---------------------------------------------------------------------------------

TINY = dict(arch="resnet10t", classes=["a", "b"], mean=[0.5] * 3, std=[0.25] * 3)

def tiny_model(seed:int):
    from cosmic_morph.models.core import create_model
    torch.manual_seed(seed); return create_model("resnet10t", 2, None, verbose=False)

KILLER = textwrap.dedent("""
    import os, signal, sys, torch
    from cosmic_morph.models.core import create_model, save_model
    target, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    real, calls = getattr(os, target), []
    def killing(*a, **k):
        calls.append(a)
        if len(calls) == n: os.kill(os.getpid(), signal.SIGKILL)   # dies here, before the n-th call
        return real(*a, **k)
    torch.manual_seed(1); new = create_model("resnet10t", 2, None, verbose=False)
    setattr(os, target, killing)
    save_model(new, out, dict(arch="resnet10t", classes=["a", "b"], mean=[0.5] * 3, std=[0.25] * 3, image_size=48))
""")

@pytest.mark.parametrize("target,n", [("replace", 1), ("replace", 2), ("replace", 3), ("fsync", 1), ("fsync", 2)])
def test_sigkill_during_save_leaves_old_or_new_model_whole(tmp_path, target, n):
    from cosmic_morph.models.core import save_model, load_model
    out = tmp_path/"model"
    save_model(tiny_model(0), out, dict(TINY, image_size=32))
    r = subprocess.run([sys.executable, "-c", KILLER, target, str(n), str(out)], env=ENV, capture_output=True,
                       timeout=120)
    killed = r.returncode == -9     # a save makes 2 renames: a kill before a 3rd never comes
    assert killed or (r.returncode == 0 and (target, n) == ("replace", 3)), r.stderr[-500:]
    m = load_model(out, device="cpu")
    which = {32: 0, 48: 1}[m.config["image_size"]]                  # the configuration says old (0) or new (1)...
    assert which == (0 if (target, n) in [("replace", 1), ("fsync", 1), ("fsync", 2)] else 1)
    want = tiny_model(which).state_dict()
    assert all(torch.equal(v, want[k]) for k, v in m.state_dict().items())   # ...and the weights are that model's
    save_model(tiny_model(2), out, dict(TINY, image_size=64))       # the next save completes or clears the leftovers
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.safetensors"]
    assert load_model(out, device="cpu").config["image_size"] == 64

COMMIT_KILLER = textwrap.dedent("""
    import os, signal, sys
    from cosmic_morph.models.core import commit_files
    n, out = int(sys.argv[1]), sys.argv[2]
    real, calls = os.replace, []
    def killing(a, b):
        calls.append(a)
        if len(calls) == n: os.kill(os.getpid(), signal.SIGKILL)
        return real(a, b)
    os.replace = killing
    files = {"model.safetensors": b"weights 2", "optimizer.pt": b"optimizer 2"}
    commit_files(out, files, "state.json", dict(epoch=2), indent=1)
""")

@pytest.mark.parametrize("n", [1, 2, 3])
def test_sigkill_during_checkpoint_leaves_one_epoch(tmp_path, n):
    "The checkpoint's three files: after a kill the set read back is one epoch's, never a mix of two."
    from cosmic_morph.models.core import commit_files, committed_bytes
    files = {"model.safetensors": b"weights 1", "optimizer.pt": b"optimizer 1"}
    commit_files(tmp_path, files, "state.json", dict(epoch=1))
    r = subprocess.run([sys.executable, "-c", COMMIT_KILLER, str(n), str(tmp_path)], env=ENV, capture_output=True,
                       timeout=60)
    assert r.returncode == -9, r.stderr[-500:]
    state = json.loads((tmp_path/"state.json").read_text())
    got = [committed_bytes(tmp_path, state, f, "state.json") for f in ("model.safetensors", "optimizer.pt")]
    e = state["epoch"]
    assert e == (1 if n == 1 else 2) and got == [f"weights {e}".encode(), f"optimizer {e}".encode()]

# --- refused arguments leave a finished model as it was ------------------------------------------------------------

def folder_bytes(d:Path) -> dict:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}

@pytest.fixture
def finished(smoke_learner, tmp_path):
    "A copy of the session's smoke model folder, and its bytes."
    out = tmp_path/"model"; shutil.copytree(smoke_learner[1], out)
    return out, folder_bytes(out)

@pytest.mark.parametrize("flags,why", [
    (["--epochs", "0"], "argument --epochs: 0: must be an integer >= 1"),
    (["--epochs", "-1"], "argument --epochs: -1: must be an integer >= 1"),
    (["--lr", "nan"], "argument --lr: nan: must be a finite number > 0"),
    (["--lr", "-1"], "argument --lr: -1: must be a finite number > 0"),
    (["--image-size", "1"], "argument --image-size: 1: must be an integer in [8, 2048]"),
    (["--batch-size", "0"], "argument --batch-size: 0: must be an integer >= 1"),
    (["--center-crop", "0"], "argument --center-crop: 0: must be a finite number in (0, 1]"),
    (["--ps", "1"], "argument --ps: 1: must be a finite number in [0, 1)"),
    (["--label-smoothing", "inf"], "argument --label-smoothing: inf: must be a finite number in [0, 1)"),
    (["--threads", "0"], "argument --threads: 0: must be an integer >= 1"),
    (["--wd", "-0.1"], "argument --wd: -0.1: must be a finite number >= 0")])
def test_bad_training_numbers_exit_2_and_leave_the_model(first_store, finished, flags, why):
    out, before = finished
    r = run("train", "--store", first_store, "--out", out, "--profile", "smoke", "--force", *flags)
    assert one_line_error(r, "train") == why
    assert folder_bytes(out) == before

@pytest.mark.parametrize("argv,why", [
    (["caption", "--model", "m", "x.png", "--beam-width", "0"], "argument --beam-width: 0: must be an integer >= 1"),
    (["ingest", "first", "--store", "s", "--per-class", "-1"], "argument --per-class: -1: must be an integer >= 1"),
    (["ingest", "first", "--store", "s", "--per-class", "0"], "argument --per-class: 0: must be an integer >= 1"),
    (["ingest", "synthetic", "--store", "s", "--size", "0"], "argument --size: 0: must be an integer in [8, 4096]"),
    (["predict", "--model", "m", "x.png", "--batch-size", "-2"], "argument --batch-size: -2: must be an integer >= 1")])
def test_bad_numbers_of_other_commands_exit_2(tmp_path, argv, why):
    r = subprocess.run([CLI, *argv], capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path)
    assert one_line_error(r, argv[0]) == why
    assert not (tmp_path/"s").exists()

def test_finished_model_is_not_replaced_unless_forced(first_store, finished):
    out, before = finished
    assert "already holds a finished model; pass --force" in one_line_error(
        run("train", "--store", first_store, "--out", out, "--profile", "smoke", "--batch-size", 4), "train")
    assert "12 training images fill no batch of 16" in one_line_error(   # zero steps would save an untrained model
        run("train", "--store", first_store, "--out", out, "--profile", "smoke", "--force"), "train")
    assert "hold NaN or infinity" in one_line_error(                      # a diverged run saves nothing
        run("train", "--store", first_store, "--out", out, "--profile", "smoke", "--force", "--batch-size", 4,
            "--lr", "1e30"), "train")
    model_files = lambda d: {k: v for k, v in d.items() if not k.startswith("checkpoint/")}   # (the runs checkpoint)
    assert model_files(folder_bytes(out)) == model_files(before)                             # the model, byte for byte

def test_out_that_is_a_file_is_one_line(first_store, tmp_path):
    (tmp_path/"afile").write_text("mine")
    r = run("train", "--store", first_store, "--out", tmp_path/"afile"/"m", "--profile", "smoke")
    msg = one_line_error(r, "train")
    assert msg == f"{tmp_path/'afile'/'m'}: cannot be a model folder, {tmp_path/'afile'} is a file"
    assert (tmp_path/"afile").read_text() == "mine"

def test_resume_refuses_a_pickled_optimizer_state(first_store, finished):
    out, _ = finished
    class Evil:
        def __reduce__(self): return (print, ("pwned",))
    (out/"checkpoint"/"optimizer.pt").write_bytes(pickle.dumps(Evil()))
    resume = ["train", "--store", first_store, "--out", out, "--profile", "smoke", "--batch-size", 4, "--seed", 0,
              "--resume"]
    r = run(*resume)
    ckpt = out/"checkpoint"
    assert one_line_error(r, "train") == \
        f"{ckpt/'optimizer.pt'}: does not match state.json (sha256 differs): changed or damaged after saving"
    state = json.loads((out/"checkpoint"/"state.json").read_text()); state.pop("sha256")   # an older checkpoint
    (out/"checkpoint"/"state.json").write_text(json.dumps(state))
    torch.save({"evil": Evil()}, out/"checkpoint"/"optimizer.pt")
    r = run(*resume)
    assert "optimizer.pt: refused, it holds pickled Python objects" in one_line_error(r, "train")
    assert "pwned" not in r.stdout

# --- bad files as one-line errors ---------------------------------------------------------------------------------

def edit_config(model:Path, **changes):
    cfg = json.loads((model/"config.json").read_text())
    for k, v in changes.items():
        if v is None: cfg.pop(k, None)
        else: cfg[k] = v
    (model/"config.json").write_text(json.dumps(cfg))

@pytest.mark.parametrize("change,why", [
    (dict(arch=None), "config.json: no 'arch' field: not a classifier's configuration"),
    (dict(temperature=0), "config.json: temperature=0: must be a finite number > 0"),
    (dict(temperature=-1.5), "config.json: temperature=-1.5: must be a finite number > 0"),
    (dict(std=[0.2, 0.0, 0.2]), "config.json: std=[0.2, 0.0, 0.2]: must be 3 finite numbers > 0"),
    (dict(channels="ultraviolet"), "config.json: unknown channels 'ultraviolet': choose one of rgb, stretch"),
    (dict(image_size=100000), "config.json: image_size=100000: must be an integer in [8, 2048]"),
    (dict(classes=["Bent", "Bent", "FRI", "FRII"]), "config.json: classes: ['Bent'] named more than once"),
    (dict(arch="no_such_net"), "config.json: unknown architecture 'no_such_net'")])
def test_bad_config_is_one_line(finished, change, why):
    out, _ = finished
    edit_config(out, **change)
    msg = one_line_error(run("predict", "--model", out, "x.png"), "predict")
    assert msg.startswith(f"{out/'config.json'}: ") and why in msg, msg

def test_corrupt_config_and_weights_are_one_line(finished):
    out, _ = finished
    (out/"model.safetensors").write_bytes(b"this is not a safetensors file")
    msg = one_line_error(run("predict", "--model", out, "x.png"), "predict")
    assert msg == \
        f"{out/'model.safetensors'}: does not match config.json (sha256 differs): changed or damaged after saving"
    edit_config(out, sha256=None)                                       # an older folder: no checksum to compare
    msg = one_line_error(run("predict", "--model", out, "x.png"), "predict")
    assert msg.startswith(f"{out/'model.safetensors'}: not a safetensors weights file (")
    (out/"config.json").write_text("{not json")
    msg = one_line_error(run("predict", "--model", out, "x.png"), "predict")
    assert msg.startswith(f"{out/'config.json'}: not valid JSON (Expecting property name")

# --- bounded reads in predict -------------------------------------------------------------------------------------

def test_predict_refuses_fifo_and_devices_and_goes_on(first_store, smoke_learner, tmp_path):
    from cosmic_morph.manifest import ImageStore, load_manifest
    good = ImageStore(first_store).local_path(load_manifest(first_store).uri[0])
    os.mkfifo(tmp_path/"pipe.png")                                  # nobody writes: an open() would wait forever
    r = run("predict", "--model", smoke_learner[1], tmp_path/"pipe.png", "/dev/zero", good, timeout=120)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert r.returncode == 1 and [("label" in l) for l in lines] == [False, False, True]
    assert lines[0]["error"] == f"{tmp_path/'pipe.png'}: refused, not a regular file (a named pipe)"
    assert lines[1]["error"] == "/dev/zero: refused, not a regular file (a character device)"
    assert r.stderr.strip() == "cosmic-morph predict: 2 of 3 image(s) failed"
