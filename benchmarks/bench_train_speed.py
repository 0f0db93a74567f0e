"""Training and inference throughput of candidate architectures on this machine (bare PyTorch loop).

Why: it decides which architecture and image size each profile uses. Writes
benchmarks/results/train_speed.json. Run: .venv/bin/python benchmarks/bench_train_speed.py
"""
import json, os, platform, time
from pathlib import Path
import torch, timm

CANDIDATES = [("resnet10t", 96, 32), ("resnet18", 96, 32), ("resnet18", 128, 32), ("resnet50", 128, 32), ("resnet50", 224, 16)]

def images_per_s(arch, size, bs, train=True, steps=3):
    m = timm.create_model(arch, num_classes=4); opt = torch.optim.AdamW(m.parameters())
    x, y = torch.randn(bs, 3, size, size), torch.randint(0, 4, (bs,))
    m.train(train)
    for i in range(steps + 1):
        if i == 1: t = time.perf_counter()
        if train:
            loss = torch.nn.functional.cross_entropy(m(x), y); opt.zero_grad(); loss.backward(); opt.step()
        else:
            with torch.no_grad(): m(x)
    return bs * steps / (time.perf_counter() - t)

if __name__ == "__main__":
    rows = []
    for arch, size, bs in CANDIDATES:
        rows.append(dict(arch=arch, image_size=size, batch_size=bs, train_images_per_s=round(images_per_s(arch, size, bs), 1),
                         infer_images_per_s_bs64=round(images_per_s(arch, size, 64, train=False, steps=2), 1)))
        print(rows[-1], flush=True)
    out = Path(__file__).parent/"results"/"train_speed.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(command="python benchmarks/bench_train_speed.py", machine=dict(
        cpu_count=os.cpu_count(), platform=platform.platform(), torch=torch.__version__, threads=torch.get_num_threads(),
        cuda=torch.cuda.is_available()), results=rows), indent=2))
    print("wrote", out)
