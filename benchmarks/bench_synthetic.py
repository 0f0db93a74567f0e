"""Synthetic-galaxy rendering speed: images/s end to end (render + votes + caption + PNG + store), serial vs parallel,
at GZ2's 424 px and the training sizes 128 and 96 px.

Why: the cpu profile renders its training set from scratch every run, so this decides n and size per profile.
Writes benchmarks/results/synthetic.json. Run: .venv/bin/python benchmarks/bench_synthetic.py [--n 60]
"""
import argparse, json, os, platform, tempfile, time, datetime
from pathlib import Path
import numpy as np
from cosmic_morph.synthetic.ingest import ingest_synthetic
from cosmic_morph.synthetic.truth import sample_truth
from cosmic_morph.synthetic.render import render_galaxy
from cosmic_morph.ingest.gz_votes import GZ5_CLASSES


def ingest_rate(n, size, workers):
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter(); m = ingest_synthetic(d, n=n, seed=123, size=size, workers=workers, progress=False)
        dt = time.perf_counter() - t
    assert len(m) == n
    return n/dt, dt


def render_only_rate(n, size):
    rng = np.random.default_rng(0); truths = [sample_truth(rng, GZ5_CLASSES[i % 5]) for i in range(n)]
    t = time.perf_counter()
    for i, tr in enumerate(truths): render_galaxy(tr, size, seed=i)
    return n/(time.perf_counter() - t)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(); ap.add_argument("--n", type=int, default=60); a = ap.parse_args()
    ingest_synthetic(tempfile.mkdtemp(), n=5, size=64, workers=2, progress=False)      # warm imports and the pool path
    rows = []
    for size in (424, 128, 96):
        r = dict(size=size, n=a.n, render_only_images_per_s=round(render_only_rate(a.n, size), 1))
        for w in (1, 2):
            ips, dt = ingest_rate(a.n, size, w)
            r[f"ingest_images_per_s_workers{w}"] = round(ips, 1); r[f"ingest_seconds_workers{w}"] = round(dt, 1)
        r["parallel_speedup"] = round(r["ingest_images_per_s_workers2"]/r["ingest_images_per_s_workers1"], 2)
        rows.append(r); print(r, flush=True)
    out = Path(__file__).parent/"results"/"synthetic.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(
        command=f"python benchmarks/bench_synthetic.py --n {a.n}", date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        machine="2-core CPU, 24 GiB, no GPU", cpu_count=os.cpu_count(), platform=platform.platform(),
        note="ingest = render + simulated votes + caption + PNG encode + sha256/phash + atomic store write + Manifest; "
             "classes cycle through the 5 GZ classes; the machine is shared with other jobs, so treat numbers as +-20%",
        results=rows), indent=2))
    print("wrote", out)
