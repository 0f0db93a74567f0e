"""Data-parallel training on CPU ranks: 1 process against 2 (gloo, one thread each) on the cpu profile's FIRST training.

Both train the cpu profile (d4cnn, 64 px, …) for the same number of epochs on the FIRST literature split, each launched
by torchrun with `distributed=True`, and are scored on the literature test split. Writes
benchmarks/results/distributed_cpu.json (appends one entry per invocation). On a GPU machine, `--nproc 1 N` compares
one GPU with N.

Run: .venv/bin/python benchmarks/bench_distributed.py --epochs 16 [--nproc 1 2]
"""
import argparse, datetime, json, os, subprocess, sys, tempfile, textwrap, time
from pathlib import Path
import bench_first_accuracy as bfa

RANK = textwrap.dedent('''
    import json, sys, time
    from cosmic_morph.manifest import load_manifest
    from cosmic_morph.train import train
    store, out, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    learn = train(load_manifest(store), store, out, profile="cpu", taxonomy="first4", seed=0, epochs=epochs,
                  num_threads=threads, progress=False, distributed=True)
    rec = learn.cm_config["training"]
    if rec.get("distributed", {}).get("rank", 0) == 0:
        import bench_first_accuracy as bfa
        m = load_manifest(store); acc = bfa.test_metrics(learn, m, store, False)[0]
        print("RESULT " + json.dumps(dict(fit_seconds=rec["fit_seconds"], n_train=rec["n_train"],
              epochs_run=rec["epochs_run"], accuracy=acc["accuracy"], macro_f1=acc["macro_f1"],
              distributed=rec.get("distributed"))), flush=True)
''')

def run(nproc:int, epochs:int, threads:int, store:Path, work:Path) -> dict:
    "Train with `nproc` processes under torchrun; the first process's record and test metrics."
    script = work/"rank.py"; script.write_text(RANK)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=os.pathsep.join([str(Path(__file__).parent),
               os.environ.get("PYTHONPATH", "")]))
    t = time.time()
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
                        str(script), str(store), str(work/f"model-{nproc}"), str(epochs), str(threads)],
                       capture_output=True, text=True, env=env)
    if r.returncode: raise SystemExit(r.stderr[-3000:])
    res = json.loads(next(l for l in r.stdout.splitlines() if l.startswith("RESULT "))[7:])
    res.update(nproc=nproc, wall_seconds=round(time.time() - t, 1),
               train_images_per_s=round(res["n_train"] * res["epochs_run"] / res["fit_seconds"], 1))
    return res

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=16); ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--nproc", type=int, nargs="+", default=[1, 2])
    a = ap.parse_args()
    store = bfa.first_store("literature")
    with tempfile.TemporaryDirectory() as work:
        runs = [run(n, a.epochs, a.threads, store, Path(work)) for n in a.nproc]
    for r in runs: print(json.dumps(r), flush=True)
    entry = dict(command="python benchmarks/bench_distributed.py " + " ".join(sys.argv[1:]),
                 machine=dict(bfa.machine(), load_average=os.getloadavg()),
                 date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 epochs=a.epochs, threads_per_process=a.threads, runs=runs,
                 speedup=round(runs[-1]["train_images_per_s"] / runs[0]["train_images_per_s"], 3) if len(runs) > 1 else None)
    out = Path(__file__).parent/"results"/"distributed_cpu.json"
    log = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(log + [entry], indent=1)); print("wrote", out)
