"""End-to-end main job: wall time and FIRST test metrics of `cosmic-morph run --profile P`.

Writes benchmarks/results/pipeline_<profile>.json (+ appends a row to benchmarks/results/README.md).
Run: .venv/bin/python benchmarks/bench_pipeline.py --profile cpu
     .venv/bin/python benchmarks/bench_pipeline.py --from-run runs/ID   # record a run already made
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

def machine():
    import torch
    return dict(cpu_count=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--profile", default="cpu"); ap.add_argument("--from-run")
    a = ap.parse_args()
    if a.from_run:
        run = Path(a.from_run); cmd = f"cosmic-morph run --profile <see summary> --out {run}"; wall = None
    else:
        run = Path("runs")/f"bench-{a.profile}-{int(time.time())}"
        cmd = f"cosmic-morph run --profile {a.profile} --out {run}"
        t = time.time(); subprocess.run([str(Path(sys.executable).parent/"cosmic-morph"), "run", "--profile", a.profile, "--out", str(run)], check=True)
        wall = round(time.time() - t, 1)
    s = json.loads((run/"summary.json").read_text())
    model_cfg = json.loads((run/"model"/"config.json").read_text())
    res = dict(command=cmd, machine=machine(), profile=s["profile"], seed=s["seed"], wall_seconds=wall or s["seconds"],
               notebook_seconds={n["name"]: n["seconds"] for n in s["notebooks"]}, test_metrics=s["metrics"],
               training_seconds=model_cfg["training"]["seconds"], pretrained=model_cfg["training"]["pretrained"],
               final_epoch=model_cfg["training"]["history"][-1])
    name = s["profile"]["profile"]
    out = Path(__file__).parent/"results"/f"pipeline_{name}.json"; out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=2)); print(json.dumps(res, indent=2)); print("wrote", out)
