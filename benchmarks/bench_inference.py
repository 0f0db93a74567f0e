"""Inference throughput (images/s) at batch 1 and 64, with and without D4 test-time augmentation.

Why: `predict` serves one image at a time or folders of thousands, and `--tta` costs 8 forward passes; this says
what each choice costs on this machine. Models are random-init (speed does not depend on the weights).
Two measurements: `model` = forward + softmax on ready tensors (`predict_probs`); `end_to_end` = `predict()` on
300×300 PNG files (read, decode, resize, normalise, forward), the path behind `cosmic-morph predict`.
Writes benchmarks/results/inference.json. Run: .venv/bin/python benchmarks/bench_inference.py [--threads 1]
(on a shared machine one thread is the steadier number: two threads thrash when other jobs hold the cores)
"""
import json, os, platform, sys, tempfile, time, datetime
from pathlib import Path
import numpy as np, torch
from PIL import Image
from cosmic_morph.config import PROFILES, default_device
from cosmic_morph.models.core import create_model
from cosmic_morph.inference import predict_probs, predict

def timed(fn, min_s=3.0, max_reps=50):
    "Seconds per call of `fn` (one warm-up call, then repeat until `min_s` elapsed)."
    fn(); n, t0 = 0, time.perf_counter()
    while n < max_reps and (n == 0 or time.perf_counter() - t0 < min_s): fn(); n += 1
    return (time.perf_counter() - t0) / n

def model_rate(model, size, bs, tta):
    x = torch.randn(bs, 3, size, size)
    return bs / timed(lambda: predict_probs(model, x, tta=tta), min_s=2.0 if bs == 1 else 3.0, max_reps=50 if bs == 1 else 5)

def end_to_end_rate(model, files, bs, tta):
    return len(files) / timed(lambda: predict(model, files, batch_size=bs, tta=tta), min_s=1.0, max_reps=2)

if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(); ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: all cores)")
    args = ap.parse_args()
    dev = default_device(); rows = []
    if args.threads: torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    cpu = PROFILES["cpu"]
    configs = [(cpu["arch"], cpu["image_size"], "cpu profile"), ("resnet50", 224, "reference")]
    with tempfile.TemporaryDirectory() as d:
        rng = np.random.default_rng(0); files = []
        for i in range(64):
            a = (rng.random((300, 300)) * 40).astype(np.uint8); a[140:160, 100:200] = 255
            files.append(Path(d)/f"{i}.png"); Image.fromarray(a).save(files[-1])
        for arch, size, why in configs:
            model = create_model(arch, 4, verbose=False).to(dev).eval()
            model.config = dict(arch=arch, classes=list("abcd"), image_size=size, mean=[0.1]*3, std=[0.2]*3)
            for tta in (False, True):
                for bs in (1, 64):
                    r = dict(arch=arch, image_size=size, role=why, tta=tta, batch_size=bs,
                             model_images_per_s=round(model_rate(model, size, bs, tta), 1))
                    if why == "cpu profile":
                        r["end_to_end_images_per_s"] = round(end_to_end_rate(model, files if bs == 64 else files[:16], bs, tta), 1)
                    rows.append(r); print(r, flush=True)
    out = Path(__file__).parent/"results"/("inference.json" if dev.type == "cpu" else "inference_gpu.json"); out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(
        command="python benchmarks/bench_inference.py" + (f" --threads {args.threads}" if args.threads else ""), date=datetime.date.today().isoformat(),
        machine="2-core CPU, 24 GiB, no GPU" if dev.type == "cpu" else torch.cuda.get_device_name(),
        details=dict(cpu_count=os.cpu_count(), platform=platform.platform(), torch=torch.__version__,
                     threads=torch.get_num_threads(), device=str(dev),
                     load_average_before_after=[round(load_before[0], 2), round(os.getloadavg()[0], 2)]),
        note="random-init weights; model = predict_probs on ready tensors; end_to_end = predict() on 300x300 PNG files",
        results=rows), indent=2))
    print("wrote", out)
