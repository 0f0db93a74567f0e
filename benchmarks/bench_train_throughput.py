"""Training throughput of the fastai loop against a bare PyTorch loop and against the machine's limit; inference speed.

- fastai: `Learner.fit` over the cached FIRST DataLoaders that `cosmic_morph.train` builds (D4 + normalise per batch),
  with the loop `train` runs (`async_loop`: smoothed loss kept on the device), timed from the first to the last training
  batch of an epoch (no validation), progress bar off; once with each of `train`'s optimizers (`optimizer`: fastai's
  Adam, and torch's AdamW wrapped by fastai's `OptimWrapper`).
- bare: the same model and the very same batches (collected from the same DataLoader beforehand), plain
  forward / cross-entropy / backward / `torch.optim.AdamW` step.
- limit: measured matmul GFLOP/s (float32 2048² GEMM on the CPU; on CUDA float16 8192², the precision mixed-precision
  training runs at) ÷ the model's training FLOPs per image (forward + backward, counted by `torch.utils.flop_counter`):
  the images/s the machine would reach if convolutions ran at GEMM speed.
- On CUDA (the gpu profile, `--device cuda`) both loops train as `cosmic_morph.train` does there: channels-last weights
  and, when the profile says `mixed_precision`, float16 autocast with a gradient scaler (fastai's `to_fp16`); every
  clock read waits for the GPU (`torch.cuda.synchronize`).
- host syncs (CUDA only): how often per training batch the CPU waits for the GPU (`.item()`, copies to the CPU, blocking
  copies to the GPU), counted by torch's CUDA sync debug mode over the timed batches, for both loops.
- inference: images/s of `model.eval()` under `torch.no_grad()` at batch 1 and batch 64.

Writes benchmarks/results/train_throughput.json. Run: python benchmarks/bench_train_throughput.py [--arch resnet18 --size 64]
[--batches 20] [--threads 1] [--profile gpu --device cuda]. On a CPU shared with other jobs the absolute rates move with the load; the
fastai/bare ratios are measured back to back in one process, the three loops interleaved over `--rounds` rounds (one
timed epoch each per round) so that a change in load hits all of them; each loop's best round is its rate, and every
round's rate is kept.
"""
import argparse, datetime, json, os, time, warnings
from pathlib import Path
import torch
from torch.utils.flop_counter import FlopCounterMode
from fastai.vision.all import Learner, CrossEntropyLossFlat, Callback, CancelTrainException, CancelValidException
from cosmic_morph.config import TrainConfig, default_device
from cosmic_morph.manifest import load_manifest
from cosmic_morph.data.loaders import manifest_dataloaders
from cosmic_morph.models.core import create_model, to_channels_last
from cosmic_morph.learner import async_loop, optimizer
import bench_first_accuracy as bfa

def now(dev) -> float:
    "A clock read after the device has finished its queued work (CUDA runs asynchronously)."
    if dev.type == "cuda": torch.cuda.synchronize()
    return time.perf_counter()

def make_model(arch, n_cls, dev, train=True):
    m = create_model(arch, n_cls, verbose=False).to(dev)
    if dev.type == "cuda": to_channels_last(m)
    return m.train(train)

class SyncCounter:
    "Count host-device synchronisations while switched `on` (torch's CUDA sync debug mode warns at each one)."
    def __init__(self): self.n, self._w = 0, None
    def on(self):
        self._w = warnings.catch_warnings(record=True); self.log = self._w.__enter__(); warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
    def off(self):
        torch.cuda.set_sync_debug_mode("default"); self._w.__exit__(None, None, None)
        self.n += sum("synchroniz" in str(w.message) for w in self.log)

class TrainTimer(Callback):
    "Time `n_batches` training batches (after a first one, which warms up); skip validation."
    order = 99
    def __init__(self, n_batches, syncs=None): self.n_batches, self.syncs = n_batches, syncs   # syncs: a SyncCounter, no timing
    def before_train(self): self.n, self.k, self.t = 0, 0, None
    def after_batch(self):
        if not self.training: return
        if self.t is None:
            if self.syncs: self.syncs.on()
            self.t = now(self.dls.device) if not self.syncs else 0.; return
        self.n += len(self.xb[0]); self.k += 1
        if self.k >= self.n_batches:
            if self.syncs: self.syncs.off()
            raise CancelTrainException
    def after_train(self): self.rate = self.n / (now(self.dls.device) - self.t) if not self.syncs else None
    def before_validate(self): raise CancelValidException

def fastai_rate(dls, arch, n_cls, n_batches, opt="adam", epochs=2, amp=False, syncs=None):
    "Best images/s over `epochs` timed epochs; with a `SyncCounter` `syncs`, one untimed epoch that counts host syncs instead."
    torch.manual_seed(0)
    learn = Learner(dls, make_model(arch, n_cls, dls.device), loss_func=CrossEntropyLossFlat(), cbs=[TrainTimer(n_batches, syncs)],
                    opt_func=optimizer(opt))
    async_loop(learn, progress=False)   # the loop `train` runs
    if amp: learn = learn.to_fp16()
    rates = []
    for _ in range(1 if syncs else epochs):
        with learn.no_logging(): learn.fit(1, 1e-3)
        rates.append(learn.train_timer.rate)
    return None if syncs else max(rates)

def bare_rate(batches, arch, n_cls, dev, epochs=2, amp=False, syncs=None):
    "Best images/s of a plain PyTorch loop over `batches`; with a `SyncCounter` `syncs`, one untimed pass that counts host syncs."
    torch.manual_seed(0)
    m = make_model(arch, n_cls, dev); opt = torch.optim.AdamW(m.parameters(), 1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    rates = []
    for _ in range(1 if syncs else epochs):
        n, t = 0, None
        for x, y in batches:
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp): loss = torch.nn.functional.cross_entropy(m(x), y)
            opt.zero_grad(); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
            if t is None:
                if syncs: syncs.on()
                t = now(dev) if not syncs else 0.; continue
            n += len(x)
        if syncs: syncs.off(); return None
        rates.append(n / (now(dev) - t))
    return max(rates)

def matmul_gflops(dev, reps=10):
    n, dt = (8192, torch.float16) if dev.type == "cuda" else (2048, torch.float32)
    a, b = torch.randn(n, n, device=dev, dtype=dt), torch.randn(n, n, device=dev, dtype=dt); a @ b
    t = now(dev)
    for _ in range(reps): a @ b
    return 2 * n**3 * reps / (now(dev) - t) / 1e9

def train_flops_per_image(arch, n_cls, size, bs=8):
    m = create_model(arch, n_cls, verbose=False).train(); x = torch.randn(bs, 3, size, size)
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
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the three loops (the best round counts)")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: every core)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when there is one)")
    a = ap.parse_args()
    dev = torch.device(a.device) if a.device else default_device()
    cfg = TrainConfig.for_profile(a.profile, arch=a.arch, image_size=a.size)
    p = cfg.to_dict()
    amp = dev.type == "cuda" and bool(p["mixed_precision"])   # as `train` does on CUDA
    store = bfa.first_store("literature"); m = load_manifest(store)
    dls = manifest_dataloaders(m, store, cfg, taxonomy="first4", device=dev, progress=False)
    n_cls = len(dls.vocab)
    if a.threads: torch.set_num_threads(a.threads)
    batches = [b for b, _ in zip(dls.train, range(a.batches + 1))]
    res = dict(arch=p["arch"], image_size=p["image_size"], batch_size=p["batch_size"], center_crop=p["center_crop"],
               threads=torch.get_num_threads(), timed_batches=a.batches, device=str(dev), mixed_precision=amp)
    loops = dict(bare=lambda **kw: bare_rate(batches, p["arch"], n_cls, dev, amp=amp, **kw),
                 fastai_adam=lambda **kw: fastai_rate(dls, p["arch"], n_cls, a.batches, amp=amp, **kw),
                 fastai_torch_adamw=lambda **kw: fastai_rate(dls, p["arch"], n_cls, a.batches, "adamw", amp=amp, **kw))
    rates = {k: [] for k in loops}
    for _ in range(a.rounds):   # interleaved: a change in the machine's load hits every loop alike
        for k, f in loops.items(): rates[k].append(round(f(epochs=1), 1))
    for k, r in rates.items(): res[f"{k}_images_per_s"], res[f"{k}_rounds"] = max(r), r
    res["ratio_fastai_adam_to_bare"] = round(res["fastai_adam_images_per_s"] / res["bare_images_per_s"], 3)
    res["ratio_fastai_torch_adamw_to_bare"] = round(res["fastai_torch_adamw_images_per_s"] / res["bare_images_per_s"], 3)
    if dev.type == "cuda":   # how often a batch makes the CPU wait for the GPU, in each loop
        for k, f in loops.items():
            s = SyncCounter(); f(syncs=s); res[f"host_syncs_per_batch_{k}"] = round(s.n / a.batches, 2)
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
