"""Training throughput of the fastai loop against a bare PyTorch loop and against the machine's limit; inference speed.

- fastai: `Learner.fit` over the cached FIRST DataLoaders that `cosmic_morph.train` builds (D4 + normalise per batch),
  timed from the first to the last training batch of an epoch (no validation), progress bar off;
  once with fastai's own Adam and once with torch's AdamW wrapped by fastai's `OptimWrapper`.
- bare: the same model and the very same batches (collected from the same DataLoader beforehand), plain
  forward / cross-entropy / backward / `torch.optim.AdamW` step.
- limit: measured matmul GFLOP/s (float32 2048² GEMM on the CPU; on CUDA float16 8192², the precision mixed-precision
  training runs at) ÷ the model's training FLOPs per image (forward + backward, counted by `torch.utils.flop_counter`):
  the images/s the machine would reach if convolutions ran at GEMM speed.
- On CUDA (the gpu profile, `--device cuda`) both loops train as `cosmic_morph.train` does there: channels-last weights
  and, when the profile says `mixed_precision`, float16 autocast with a gradient scaler (fastai's `to_fp16`); every
  clock read waits for the GPU (`torch.cuda.synchronize`).
- inference: images/s of `model.eval()` under `torch.no_grad()` at batch 1 and batch 64.

Writes benchmarks/results/train_throughput.json. Run: python benchmarks/bench_train_throughput.py [--arch resnet18 --size 64]
[--batches 20] [--threads 1] [--profile gpu --device cuda]. On a CPU shared with other jobs the absolute rates move with the load; the
fastai/bare ratios are measured back to back in one process.
"""
import argparse, datetime, json, os, time
from functools import partial
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
from fastai.vision.all import (Learner, CrossEntropyLossFlat, Callback, OptimWrapper, ProgressCallback,
                               CancelTrainException, CancelValidException)
from cosmic_morph.config import get_profile, default_device
from cosmic_morph.manifest import load_manifest
from cosmic_morph.train import manifest_dataloaders, build_model, to_channels_last
import bench_first_accuracy as bfa

def now(dev) -> float:
    "A clock read after the device has finished its queued work (CUDA runs asynchronously)."
    if dev.type == "cuda": torch.cuda.synchronize()
    return time.perf_counter()

def make_model(arch, n_cls, dev, train=True):
    m = build_model(arch, n_cls, verbose=False).to(dev)
    if dev.type == "cuda": to_channels_last(m)
    return m.train(train)

class TrainTimer(Callback):
    "Time `n_batches` training batches (after a first one, which warms up); skip validation."
    order = 99
    def __init__(self, n_batches): self.n_batches = n_batches
    def before_train(self): self.n, self.k, self.t = 0, 0, None
    def after_batch(self):
        if not self.training: return
        if self.t is None: self.t = now(self.dls.device); return
        self.n += len(self.xb[0]); self.k += 1
        if self.k >= self.n_batches: raise CancelTrainException
    def after_train(self): self.rate = self.n / (now(self.dls.device) - self.t)
    def before_validate(self): raise CancelValidException

def fastai_rate(dls, arch, n_cls, n_batches, opt_func=None, epochs=2, amp=False):
    torch.manual_seed(0)
    kw = dict(opt_func=opt_func) if opt_func else {}
    learn = Learner(dls, make_model(arch, n_cls, dls.device), loss_func=CrossEntropyLossFlat(), cbs=[TrainTimer(n_batches)], **kw)
    learn.remove_cb(ProgressCallback)
    if amp: learn = learn.to_fp16()
    rates = []
    for _ in range(epochs):
        with learn.no_logging(): learn.fit(1, 1e-3)
        rates.append(learn.train_timer.rate)
    return max(rates)

def bare_rate(batches, arch, n_cls, dev, epochs=2, amp=False):
    torch.manual_seed(0)
    m = make_model(arch, n_cls, dev); opt = torch.optim.AdamW(m.parameters(), 1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    rates = []
    for _ in range(epochs):
        n, t = 0, None
        for x, y in batches:
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp): loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
            if t is None: t = now(dev); continue
            n += len(x)
        rates.append(n / (now(dev) - t))
    return max(rates)

def matmul_gflops(dev, reps=10):
    n, dt = (8192, torch.float16) if dev.type == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, device=dev, dtype=dt), torch.randn(n, n, device=dev, dtype=dt); a @ b
    t = now(dev)
    for _ in range(reps): a @ b
    return 2 * n**3 * reps / (now(dev) - t) / 1e9

def train_flops_per_image(arch, n_cls, size, bs=8):
    m = build_model(arch, n_cls, verbose=False).train(); x = torch.randn(bs, 3, size, size)
    with FlopCounterMode(display=False) as fc:
        m(x).sum().backward()
    return fc.get_total_flops() / bs

@torch.no_grad()
def infer_rate(arch, n_cls, size, bs, reps, dev, amp=False):
    m = make_model(arch, n_cls, dev, train=False); x = torch.randn(bs, 3, size, size, device=dev)
    with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
        for _ in range(3): m(x)
        t = now(dev)
        for _ in range(reps): m(x)
        return bs * reps / (now(dev) - t)

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--arch"); ap.add_argument("--size", type=int)
    ap.add_argument("--batches", type=int, default=20, help="timed training batches per repetition (the first batch is not timed)")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: every core)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when there is one)")
    a = ap.parse_args()
    dev = torch.device(a.device) if a.device else default_device()
    p = get_profile(a.profile, arch=a.arch, image_size=a.size)
    amp = dev.type == "cuda" and bool(p["mixed_precision"])   # as `train` does on CUDA
    store = bfa.first_store("literature"); m = load_manifest(store)
    dls = manifest_dataloaders(m, store, p["image_size"], p["batch_size"], taxonomy="first4", center_crop=p["center_crop"],
                               device=dev, progress=False)
    n_cls = len(dls.vocab)
    if a.threads: torch.set_num_threads(a.threads)
    batches = [b for b, _ in zip(dls.train, range(a.batches + 1))]
    res = dict(arch=p["arch"], image_size=p["image_size"], batch_size=p["batch_size"], center_crop=p["center_crop"],
               threads=torch.get_num_threads(), timed_batches=a.batches, device=str(dev), mixed_precision=amp)
    res["bare_images_per_s"] = round(bare_rate(batches, p["arch"], n_cls, dev, amp=amp), 1)
    res["fastai_adam_images_per_s"] = round(fastai_rate(dls, p["arch"], n_cls, a.batches, amp=amp), 1)
    res["fastai_torch_adamw_images_per_s"] = round(fastai_rate(dls, p["arch"], n_cls, a.batches, partial(OptimWrapper, opt=torch.optim.AdamW), amp=amp), 1)
    # the bare loop again, last: the first loop of a process runs on cold caches and allocator; the ratios use the faster
    res["bare_images_per_s_first"] = res["bare_images_per_s"]
    res["bare_images_per_s_last"] = round(bare_rate(batches, p["arch"], n_cls, dev, amp=amp), 1)
    res["bare_images_per_s"] = max(res["bare_images_per_s_first"], res["bare_images_per_s_last"])
    res["ratio_fastai_adam_to_bare"] = round(res["fastai_adam_images_per_s"] / res["bare_images_per_s"], 3)
    res["ratio_fastai_torch_adamw_to_bare"] = round(res["fastai_torch_adamw_images_per_s"] / res["bare_images_per_s"], 3)
    res["matmul_gflops"] = round(matmul_gflops(dev), 1)
    res["train_gflop_per_image"] = round(train_flops_per_image(p["arch"], n_cls, p["image_size"]) / 1e9, 3)
    res["limit_images_per_s"] = round(res["matmul_gflops"] / res["train_gflop_per_image"], 1)
    res["ratio_fastai_to_limit"] = round(max(res["fastai_adam_images_per_s"], res["fastai_torch_adamw_images_per_s"]) / res["limit_images_per_s"], 3)
    res["infer_images_per_s_bs1"] = round(infer_rate(p["arch"], n_cls, p["image_size"], 1, 50, dev, amp), 1)
    res["infer_images_per_s_bs64"] = round(infer_rate(p["arch"], n_cls, p["image_size"], 64, 5 if dev.type == "cpu" else 50, dev, amp), 1)
    print(json.dumps(res), flush=True)
    out = Path(__file__).parent/"results"/"train_throughput.json"
    log = json.loads(out.read_text()) if out.exists() else []
    log.append(dict(command="python benchmarks/bench_train_throughput.py " + " ".join(os.sys.argv[1:]),
                    machine=dict(bfa.machine(), load_average=os.getloadavg()),   # rates on a shared CPU move with the load
                    date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), results=res))
    out.write_text(json.dumps(log, indent=1))
    print("wrote", out)
