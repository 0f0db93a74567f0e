"""Speed of the D4 training augmentation: `BatchD4Normalize` (one `gather` on the uint8 batch, `random_d4`) against the
per-orientation loop it replaced (float first, then for each of the 8 orientations `nonzero` + index copy + `dihedral`),
on the same batch and the same random draws; also checks that both give the same tensor.

Writes benchmarks/results/d4_augment.json. Run: python benchmarks/bench_d4_augment.py [--threads 1] [--reps 20]
"""
import argparse, datetime, json, os, time
from pathlib import Path
import torch
from cosmic_morph.data.d4 import BatchD4Normalize, dihedral
import bench_first_accuracy as bfa

def loop_d4(x, mean, std):
    "The earlier `BatchD4Normalize.encodes` (augment='d4'), kept here as the reference."
    x = x.float().div_(255)
    k = torch.randint(0, 8, (len(x),))
    out = torch.empty_like(x)
    for t in range(8):
        idx = (k == t).nonzero().squeeze(1).to(x.device)
        if len(idx): out[idx] = dihedral(x[idx], t)
    return (out - mean[None, :, None, None]) / std[None, :, None, None]

def ms_per_batch(f, reps):
    f(); t = time.perf_counter()
    for _ in range(reps): f()
    return (time.perf_counter() - t) / reps * 1e3

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1); ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args(); torch.set_num_threads(a.threads)
    mean, std = torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0.2, 0.3, 0.4])
    tf = BatchD4Normalize(mean.tolist(), std.tolist(), augment="d4")
    rows = []
    for bs, px in [(32, 64), (64, 224)]:   # the cpu and gpu profiles' batches
        x = torch.randint(0, 256, (bs, 3, px, px), dtype=torch.uint8); y = torch.zeros(bs, dtype=torch.long)
        torch.manual_seed(0); ref = loop_d4(x, mean, std)
        torch.manual_seed(0); new, _ = tf((x, y))
        rows.append(dict(batch=bs, px=px, identical=bool(torch.equal(ref, new)),
                         loop_ms=round(ms_per_batch(lambda: loop_d4(x, mean, std), a.reps), 2),
                         gather_ms=round(ms_per_batch(lambda: tf((x, y)), a.reps), 2)))
        rows[-1]["speedup"] = round(rows[-1]["loop_ms"] / rows[-1]["gather_ms"], 2); print(rows[-1], flush=True)
    out = Path(__file__).parent/"results"/"d4_augment.json"
    out.write_text(json.dumps(dict(command="python benchmarks/bench_d4_augment.py " + " ".join(os.sys.argv[1:]),
                                   machine=dict(bfa.machine(), load_average=os.getloadavg(), threads=a.threads),
                                   date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                                   results=rows), indent=1))
    print("wrote", out)
