"""Data-parallel training proven on CPU: two processes (gloo) started by torchrun on the smoke profile."""
import hashlib, json, os, subprocess, sys, textwrap
from pathlib import Path
import pytest

RANK_SCRIPT = textwrap.dedent('''
    import hashlib, json, sys
    from pathlib import Path
    from cosmic_morph.manifest import load_manifest
    from cosmic_morph.train import train
    store, out, report = sys.argv[1:4]
    learn = train(load_manifest(store), store, out, profile="smoke", taxonomy="first4", seed=0, epochs=2,
                  num_threads=1, progress=False, distributed=True, resume=len(sys.argv) > 4)
    rec = learn.cm_config["training"]["distributed"]
    sd = learn.model.state_dict()
    digest = hashlib.sha256(b"".join(sd[k].detach().cpu().contiguous().numpy().tobytes() for k in sorted(sd))).hexdigest()
    Path(report, f"rank{rec['rank']}.json").write_text(json.dumps(dict(rec, weights=digest,
        valid_accuracy=learn.cm_config["training"]["history"][-1]["accuracy"])))
''')

@pytest.fixture(scope="module")
def store16(tmp_path_factory):
    "A split FIRST store with 16 images per class and split: 64 training images, 4 smoke batches an epoch."
    from cosmic_morph.ingest.first import ingest_first
    from cosmic_morph.split import split_store
    d = tmp_path_factory.mktemp("first16")/"store"
    ingest_first(d, per_class=16, progress=False); split_store(d)
    return d

def torchrun(*args):
    "Run `args` in 2 CPU processes under torchrun (gloo), one thread each."
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                        *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r

def test_two_cpu_processes_train_one_model(store16, tmp_path):
    script, out, report = tmp_path/"rank.py", tmp_path/"model", tmp_path/"report"
    script.write_text(RANK_SCRIPT); report.mkdir()
    torchrun(script, store16, out, report)
    ranks = [json.loads((report/f"rank{i}.json").read_text()) for i in (0, 1)]
    from cosmic_morph.manifest import load_manifest
    n_train = int((load_manifest(store16).split == "train").sum())
    alone = n_train // 16                   # batches an epoch of one process (smoke batch size 16, last one dropped)
    for rec in ranks:                       # each process: half of them (± one), in each of the 2 epochs
        assert rec["world_size"] == 2 and abs(rec["batches_per_epoch"] - alone / 2) <= 1
        assert rec["train_batches"] == 2 * rec["batches_per_epoch"] and rec["train_images"] == 16 * rec["train_batches"]
    assert ranks[0]["weights"] == ranks[1]["weights"]                      # one model in both processes
    assert ranks[0]["valid_accuracy"] == ranks[1]["valid_accuracy"]        # metrics gathered from both shards
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint", "config.json", "model.safetensors"]
    cfg = json.loads((out/"config.json").read_text())
    assert cfg["training"]["distributed"]["rank"] == 0 and cfg["training"]["n_train"] == n_train
    from cosmic_morph.models.core import load_model
    from cosmic_morph.inference import predict
    from cosmic_morph.manifest import ImageStore, load_manifest
    img = ImageStore(store16).local_path(load_manifest(store16).uri[0])
    pred = predict(load_model(out, device="cpu"), [img])[0]
    assert pred["label"] in cfg["classes"] and abs(sum(pred["probs"].values()) - 1) < 1e-4

def test_resume_under_data_parallel_training(store16, tmp_path):
    "A checkpoint cut back to 'epoch 1 of 2 done' is continued by both processes: one more epoch, history whole."
    script, out, report = tmp_path/"rank.py", tmp_path/"model", tmp_path/"report"
    script.write_text(RANK_SCRIPT); report.mkdir()
    torchrun(script, store16, out, report)
    st = json.loads((out/"checkpoint"/"state.json").read_text())
    st.update(epoch=1, history=st["history"][:1]); (out/"checkpoint"/"state.json").write_text(json.dumps(st))
    torchrun(script, store16, out, report, "resume")
    ranks = [json.loads((report/f"rank{i}.json").read_text()) for i in (0, 1)]
    assert [r["train_batches"] for r in ranks] == [r["batches_per_epoch"] for r in ranks]   # only the missing epoch
    assert ranks[0]["weights"] == ranks[1]["weights"]
    cfg = json.loads((out/"config.json").read_text())
    assert [h["epoch"] for h in cfg["training"]["history"]] == [0, 1]
    assert cfg["training"]["resumed_from"] == dict(phase="fine_tune", epoch=1)

def test_distributed_without_a_launcher_is_one_clear_line(store16, tmp_path):
    from conftest import CLI
    r = subprocess.run([CLI, "train", "--store", str(store16), "--out", str(tmp_path/"m"), "--profile", "smoke",
                        "--distributed"], capture_output=True, text=True)
    assert r.returncode == 2 and "needs a launcher" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path/"m").exists()

def test_the_pipeline_path_launches_torchrun_itself(store16, tmp_path):
    "`launch_train` (what 07g_train runs when the RunConfig asks for several processes) passes every setting as a flag."
    from cosmic_morph.config import TrainConfig
    from cosmic_morph.train import launch_train
    cfg = TrainConfig.for_profile("smoke", epochs=1, num_threads=1, channels="rgb", label_smoothing=0.1)
    saved = launch_train(store16, tmp_path/"m", cfg, "smoke", "first4", 0, 2)
    assert saved["training"]["distributed"]["world_size"] == 2
    assert TrainConfig.from_dict(saved) == cfg
