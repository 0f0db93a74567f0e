"""End-to-end main job: wall time and FIRST test metrics of `cosmic-morph run --profile P`.

Writes benchmarks/results/pipeline_<profile>.json (+ appends a row to benchmarks/results/README.md).
Run: .venv/bin/python benchmarks/bench_pipeline.py --profile cpu
     .venv/bin/python benchmarks/bench_pipeline.py --from-run runs/ID   # record a run already made
     .venv/bin/python benchmarks/bench_pipeline.py --gz2 ../shared/data/gz2 [--gz1 ../shared/data/gz1]
         # the real-galaxy main job (`make run GZ2=…`): writes pipeline_<profile>_gz2[_gz1]_<date>.json
     .venv/bin/python benchmarks/bench_pipeline.py --gz2 ../shared/data/gz2 --members 3 --tag members3
         # the same with the GZ model averaging three networks (`make run GZ2=… MEMBERS=3`); --tag names the file
"""
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

def machine():
    import torch
    return dict(cpu_count=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                torch=torch.__version__, cuda=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--profile", default="cpu"); ap.add_argument("--from-run")
    ap.add_argument("--gz2"); ap.add_argument("--gz1"); ap.add_argument("--members")
    ap.add_argument("--tag", default="", help="appended to the result's file name (pipeline_…_<date>_<tag>.json)")
    a = ap.parse_args()
    if a.from_run:
        run = Path(a.from_run); wall = None
        cmd = " ".join([f"cosmic-morph run --profile <see summary> --out {run}",
                        *[f"--{k} {getattr(a, k)}" for k in ("gz2", "gz1") if getattr(a, k)]])
    else:
        run = Path("runs")/f"bench-{a.profile}-{int(time.time())}"
        real = [x for k in ("gz2", "gz1", "members") if getattr(a, k) for x in (f"--{k}", getattr(a, k))]
        cmd = " ".join(["cosmic-morph run --profile", a.profile, "--out", str(run), *real])
        t = time.time(); subprocess.run([str(Path(sys.executable).parent/"cosmic-morph"), "run", "--profile", a.profile, "--out", str(run), *real], check=True)
        wall = round(time.time() - t, 1)
    s = json.loads((run/"summary.json").read_text())
    model_cfg = json.loads((run/"model"/"config.json").read_text())
    extra = {k: s[k] for k in ("data", "gz5_metrics", "caption_metrics") if k in s}
    res = dict(**extra, command=cmd, machine=machine(), profile=s["profile"], seed=s["seed"], wall_seconds=wall or s["seconds"],
               notebook_seconds={n["name"]: n["seconds"] for n in s["notebooks"]}, test_metrics=s["metrics"],
               training_seconds=model_cfg["training"]["seconds"], pretrained=model_cfg["training"]["pretrained"],
               final_epoch=model_cfg["training"]["history"][-1])
    name = s["profile"].get("name") or s["profile"].get("profile")
    import datetime
    tag = "".join(f"_{k}" for k in ("gz2", "gz1") if getattr(a, k, None))
    suffix = f"_{a.tag}" if a.tag else ""
    out = Path(__file__).parent/"results"/(f"pipeline_{name}{tag}_{datetime.date.today()}{suffix}.json" if tag
                                           else f"pipeline_{name}{suffix}.json"); out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=2)); print(json.dumps(res, indent=2)); print("wrote", out)
