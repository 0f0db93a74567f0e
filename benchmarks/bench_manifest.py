"""Benchmark: Manifest commits under load.

1. Concurrency: N writer processes each add M fabricated rows to one local store through `ManifestWriter`,
   committing every `--batch` rows (so commits contend for the store's lock). Reports rows kept / rows written
   (must be 1.0) and the latency of each commit (lock wait + re-read + merge + validate + atomic write).
2. Growth: the time of one commit (`commit_manifest` upserting `--batch` new rows) when the Manifest already holds
   1 000, 10 000 and 100 000 rows, and of a plain `load_manifest` at that size.

Rows are fabricated with valid fields (no image is rendered or stored: commits never read images).
Writes benchmarks/results/manifest.json.

    PYTHONPATH=. python benchmarks/bench_manifest.py [--writers 4] [--rows 500] [--batch 50] [--sizes 1000,10000,100000]
"""
import argparse, datetime, hashlib, json, multiprocessing as mp, os, platform, statistics, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd

def fake_rows(prefix:str, n:int, seed:int=0) -> list:
    "`n` Manifest rows with valid fields for images that are never stored."
    rng = np.random.default_rng(seed)
    out = []
    for i, h in enumerate(rng.integers(0, 2**63, n)):
        sha = hashlib.sha256(f"{prefix}-{i}".encode()).hexdigest()
        out.append(dict(image_id=f"bench:{prefix}-{i}", source="bench", taxonomy="bench", label="abcde"[i % 5],
                        uri=f"images/{sha[:2]}/{sha}.png", sha256=sha, phash=f"{int(h):016x}", width=64, height=64,
                        mode="L", meta=json.dumps(dict(writer=prefix, n=i))))
    return out

def fake_manifest(n:int) -> pd.DataFrame:
    from cosmic_morph.manifest import typed_manifest
    return typed_manifest(pd.DataFrame(fake_rows("base", n)))

def writer(store:str, w:int, rows:int, batch:int, barrier, results):
    "One process: add `rows` rows, a commit every `batch`; report the seconds of each commit."
    from cosmic_morph.manifest import ManifestWriter
    recs = fake_rows(f"w{w}", rows, seed=w)
    mw = ManifestWriter(store, every=batch, growth=0.0)
    barrier.wait()
    times = []
    for r in recs:
        before, t = mw.writes, time.perf_counter()
        mw.add(r)                                                  # commits when `batch` rows are queued
        if mw.writes > before: times.append(time.perf_counter() - t)
    if mw.pending: t = time.perf_counter(); mw.flush(); times.append(time.perf_counter() - t)
    results.put((w, times))

def concurrency(writers:int, rows:int, batch:int) -> dict:
    from cosmic_morph.manifest import load_manifest
    with tempfile.TemporaryDirectory(prefix="cm-bench-manifest-") as d:
        ctx = mp.get_context("spawn")
        barrier, results = ctx.Barrier(writers), ctx.Queue()
        procs = [ctx.Process(target=writer, args=(d, w, rows, batch, barrier, results)) for w in range(writers)]
        t0 = time.perf_counter()
        for p in procs: p.start()
        got = [results.get(timeout=600) for _ in procs]
        for p in procs: p.join()
        seconds = time.perf_counter() - t0
        m = load_manifest(d)
    lat = sorted(t for _, ts in got for t in ts)
    expected = {f"bench:w{w}-{i}" for w in range(writers) for i in range(rows)}
    return dict(writers=writers, rows_per_writer=rows, commit_every=batch, rows_written=writers * rows,
                rows_kept=len(expected & set(m.image_id)), kept_ratio=len(expected & set(m.image_id)) / (writers * rows),
                manifest_rows=len(m), commits=len(lat), seconds_incl_process_start=round(seconds, 2),
                commit_seconds=dict(median=round(statistics.median(lat), 4), p90=round(lat[int(0.9 * (len(lat) - 1))], 4),
                                    max=round(lat[-1], 4)))

def growth(sizes:list, batch:int, commits:int) -> list:
    from cosmic_morph.manifest import save_manifest, commit_manifest, load_manifest, upsert_manifest, manifest_from_records
    out = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="cm-bench-manifest-") as d:
            save_manifest(fake_manifest(n), d)
            load = []
            for _ in range(3): t = time.perf_counter(); load_manifest(d); load.append(time.perf_counter() - t)
            ts = []
            for k in range(commits):
                new = manifest_from_records(fake_rows(f"g{n}-{k}", batch, seed=k))
                t = time.perf_counter(); commit_manifest(d, lambda now: upsert_manifest(now, new)); ts.append(time.perf_counter() - t)
            kept = len(load_manifest(d))
            size = (Path(d)/"manifest.parquet").stat().st_size
        out.append(dict(manifest_rows=n, rows_per_commit=batch, commits=commits, rows_after=kept,
                        rows_expected=n + commits * batch, parquet_mb=round(size / 2**20, 2),
                        commit_seconds=dict(median=round(statistics.median(ts), 4), min=round(min(ts), 4), max=round(max(ts), 4)),
                        load_seconds_median=round(statistics.median(load), 4)))
        print(json.dumps(out[-1]), flush=True)
    return out

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=4); ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--batch", type=int, default=50, help="rows per commit")
    ap.add_argument("--sizes", default="1000,10000,100000"); ap.add_argument("--commits", type=int, default=5)
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"manifest.json"))
    a = ap.parse_args()
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    conc = concurrency(a.writers, a.rows, a.batch); print(json.dumps(conc), flush=True)
    assert conc["kept_ratio"] == 1.0, "rows were lost"
    grow = growth([int(s) for s in a.sizes.split(",")], 100, a.commits)
    res = dict(benchmark="manifest", command=" ".join(["PYTHONPATH=. python benchmarks/bench_manifest.py", *sys.argv[1:]]),
               machine=dict(cpu_count=os.cpu_count(), load_average_before=[round(x, 2) for x in load_before],
                            load_average_after=[round(x, 2) for x in os.getloadavg()], platform=platform.platform(),
                            note="a shared machine: other jobs ran beside this one (see load averages)"),
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               python=platform.python_version(), lock="filelock (local folder)", concurrency=conc, growth=grow,
               seconds_total=round(time.perf_counter() - t0, 1))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {a.out}")

if __name__ == "__main__": main()
