"""NASA ingest throughput against the local FakeNasaServer with 50 ms latency per request: concurrent vs sequential.

Why: the real API is latency-bound (each image costs an asset lookup and a download); concurrency is what makes a
few thousand images take minutes instead of an hour. The baseline is the same client with `concurrency=1`
(one connection, one request at a time: a plain sequential loop), so the only difference is concurrency.
The fake server runs in its own process, as a real server would (it must not share the client's GIL).
600 images = 6 classes x 100. Each concurrent setting runs 3 times (median reported, all kept); "lost" (summed over the runs) = images wanted but not in the Manifest, plus Manifest rows whose stored file
fails `verify_store`. Writes benchmarks/results/nasa_ingest.json.
Run: PYTHONPATH=. .venv/bin/python benchmarks/bench_nasa_ingest.py
"""
import json, platform, subprocess, sys, tempfile, time, datetime, os
from pathlib import Path
import httpx
from cosmic_morph.ingest.nasa import ingest_nasa, NASA_CLASSES
from cosmic_morph.parallel import verify_store

PER_CLASS, LATENCY = 100, 0.05
CONCURRENCY = [1, 8, 16, 32, 64]
REPEATS = 3          # concurrent settings are run 3 times and the median is reported (the machine is shared)
SERVER = ("import sys\nfrom cosmic_morph.testing import FakeNasaServer, fake_catalogue\n"
          "with FakeNasaServer(fake_catalogue(n=int(sys.argv[1])), latency=float(sys.argv[2])) as s:\n"
          "    print(s.url, flush=True); sys.stdin.read()\n")

def run(k, url):
    store = tempfile.mkdtemp(prefix=f"bench-nasa-{k}-")
    b = httpx.get(f"{url}/_stats").json(); before = b["counts"]
    t = time.perf_counter(); cpu = time.process_time()
    m = ingest_nasa(store, per_class=PER_CLASS, api_url=url, concurrency=k, rate_limit=None, progress=False)
    dt, cpu = time.perf_counter() - t, time.process_time() - cpu
    nasa = m[m.source == "nasa"]
    lost = len(NASA_CLASSES) * PER_CLASS - len(nasa) + len(verify_store(store, progress=False))
    a = httpx.get(f"{url}/_stats").json(); after = a["counts"]
    return dict(concurrency=k, images=len(nasa), seconds=round(dt, 2), images_per_s=round(len(nasa) / dt, 1), lost=lost,
                client_cpu_s=round(cpu, 2), server_cpu_s=round(a["process_cpu_s"] - b["process_cpu_s"], 2), requests={key: after[key] - before.get(key, 0) for key in ("search", "asset", "image")},
                rejected=len(m.attrs["report"]["rejected"]), conflicts=len(m.attrs["report"]["conflicts"]))

if __name__ == "__main__":
    srv = subprocess.Popen([sys.executable, "-c", SERVER, str(PER_CLASS + 10), str(LATENCY)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    url, rows = srv.stdout.readline().strip(), []
    try:
        for k in CONCURRENCY:
            reps = [run(k, url) for _ in range(1 if k == 1 else REPEATS)]
            r = sorted(reps, key=lambda x: x["images_per_s"])[len(reps) // 2]          # the median run
            r["images_per_s_all_runs"] = [x["images_per_s"] for x in reps]; r["lost"] = sum(x["lost"] for x in reps)
            rows.append(r); print(r, flush=True)
    finally: srv.stdin.close(); srv.wait()
    base = rows[0]["images_per_s"]
    for r in rows: r["speedup_vs_sequential"] = round(r["images_per_s"] / base, 1)
    load = os.getloadavg()
    out = Path(__file__).parent/"results"/"nasa_ingest.json"
    out.write_text(json.dumps(dict(
        command="PYTHONPATH=. .venv/bin/python benchmarks/bench_nasa_ingest.py",
        machine="2-core CPU, 24 GiB, no GPU", load_average_at_end=[round(x, 1) for x in load],
        date=datetime.date.today().isoformat(), python=platform.python_version(), httpx=httpx.__version__,
        setup=dict(server="FakeNasaServer (asyncio HTTP/1.1 on 127.0.0.1, own process)", latency_s_per_request=LATENCY,
                   images=len(NASA_CLASSES) * PER_CLASS, classes=len(NASA_CLASSES), per_class=PER_CLASS,
                   image="64x64 JPEG (~medium rendition)", rate_limit=None, checkpoint_every=20, checkpoint_s=1.0,
                   baseline="ingest_nasa(concurrency=1): the same client, one connection, one request at a time"),
        results=rows), indent=2))
    print("wrote", out)
