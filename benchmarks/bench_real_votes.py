"""The vote fractions as a training target (Zoobot's idea) on real GZ2 galaxies, side by side with class labels.

Same D4 CNN, images (64 px, central half of the frame), fixed GZ2 split (`REAL_SPLIT`, seed 42) and optimiser for
three targets: `ce` (class-weighted cross-entropy on the Willett labels), `votes` (the 37 conditional vote fractions
with `VoteLoss`, the GZ decision tree's per-question softmax weighted by how many volunteers reached each question;
the predicted fractions become a class through the same Willett rules as the labels) and `both` (one network, both
losses; scored by its class head and by its vote head). Writes `benchmarks/results/real_votes.json`.

    python benchmarks/bench_real_votes.py --seeds 0,1,2
    python benchmarks/bench_real_votes.py --seeds 0,1,2 --split valid --weights none   # as GZ_REAL trains, scored on valid
"""
import sys, json, time, math, os, platform, datetime, argparse
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]; SHARED = ROOT.parent/"shared"/"data"
sys.path.insert(0, str(ROOT))
import numpy as np, pandas as pd, torch
from torch import nn
from cosmic_morph.manifest import load_manifest
from cosmic_morph.real import ingest_real_galaxies, real_rows, GZ_IMAGE
from cosmic_morph.data.images import image_cache, channel_stats
from cosmic_morph.models.core import create_model
from cosmic_morph.captioning.pretrain import VoteLoss, question_softmax
from cosmic_morph.ingest.gz_votes import gz5_labels, VOTE_COLUMNS, GZ5_CLASSES
from cosmic_morph.inference import d4_views
from sklearn.metrics import f1_score
ap = argparse.ArgumentParser()
ap.add_argument("--seeds", default="0"); ap.add_argument("--size", type=int, default=64)
ap.add_argument("--crop", type=float, default=GZ_IMAGE["center_crop"]); ap.add_argument("--epochs", type=int, default=20)
ap.add_argument("--modes", default="ce,votes,both"); ap.add_argument("--arch", default="d4cnn")
ap.add_argument("--split", default="test", choices=["test", "valid"], help="the GZ2 galaxies scored (valid: choosing)")
ap.add_argument("--weights", default="sqrt", choices=["sqrt", "none"],
                help="class weights of the cross-entropy: sqrt of inverse frequency, or none (as GZ_REAL trains)")
ap.add_argument("--work", default="/tmp/cm-votes"); ap.add_argument("--out", default=str(ROOT/"benchmarks/results/real_votes.json"))
a = ap.parse_args()
if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
store = a.work + "/store"
if not os.path.exists(store + "/manifest.parquet"):
    ingest_real_galaxies(store, SHARED/"gz2", progress=False)
m = load_manifest(store)
from cosmic_morph.manifest import read_meta
m["split"] = [read_meta(x)["source_split"] for x in m["meta"]]
rows = m[m.source == "gz2"].reset_index(drop=True)
size, crop, epochs, modes, arch = a.size, a.crop, a.epochs, a.modes.split(","), a.arch
X = image_cache(store, rows, size, crop, progress=False)
mean, std = channel_stats(X[torch.from_numpy((rows.split == "train").to_numpy())])
mean, std = torch.tensor(mean).view(1, 3, 1, 1), torch.tensor(std).view(1, 3, 1, 1)
norm = lambda x: (x.float() / 255 - mean) / std
V = torch.tensor(rows[VOTE_COLUMNS].fillna(0).to_numpy(np.float32))
Y = torch.tensor([GZ5_CLASSES.index(l) for l in rows.label])
tr, va, te = [np.where(rows.split == s)[0] for s in ("train", "valid", "test")]
K = len(VOTE_COLUMNS); vl = VoteLoss(VOTE_COLUMNS)
counts = np.bincount(Y[tr].numpy(), minlength=5); w = torch.tensor((counts.sum() / (5 * np.maximum(counts, 1))) ** 0.5, dtype=torch.float32)
if a.weights == "none": w = None
scored = te if a.split == "test" else va

def run(mode, seed=0, bs=32, lr=3e-3):
    torch.manual_seed(seed); g = torch.Generator().manual_seed(seed)
    net = create_model(arch, K + 5, verbose=False)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    steps = epochs * math.ceil(len(tr) / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    ce = nn.CrossEntropyLoss(weight=w)
    t0 = time.time()
    for ep in range(epochs):
        net.train(); perm = torch.tensor(tr)[torch.randperm(len(tr), generator=g)]
        for b in range(0, len(perm), bs):
            i = perm[b:b + bs]
            if len(i) < 2: continue
            xb = d4_views(norm(X[i]))[int(torch.randint(8, (1,), generator=g))]
            out = net(xb)
            loss = 0
            if mode in ("votes", "both"): loss = loss + vl(out[:, :K], V[i])
            if mode in ("ce", "both"): loss = loss + ce(out[:, K:], Y[i])
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    net.eval()
    with torch.no_grad():
        outs = torch.stack([net(v) for v in d4_views(norm(X[scored]))]).mean(0)
    res = {}
    y = Y[scored].numpy()
    if mode in ("ce", "both"):
        p = outs[:, K:].argmax(1).numpy()
        res["ce_head"] = dict(acc=float((p == y).mean()), f1=float(f1_score(y, p, average="macro", labels=range(5))))
    if mode in ("votes", "both"):
        fr = question_softmax(outs[:, :K], vl.groups).numpy()
        lab = gz5_labels(pd.DataFrame(fr, columns=VOTE_COLUMNS))
        p = np.array([GZ5_CLASSES.index(l) for l in lab])
        res["willett"] = dict(acc=float((p == y).mean()), f1=float(f1_score(y, p, average="macro", labels=range(5))))
        res["vote_mae"] = float(np.abs(fr - V[scored].numpy()).mean())
    return dict(mode=mode, seed=seed, size=size, crop=crop, epochs=epochs, arch=arch, split=a.split, weights=a.weights,
                seconds=round(time.time() - t0), **res)

out = Path(a.out); old = json.loads(out.read_text()) if out.exists() else {}
results, cmd = old.get("results", []), "python benchmarks/bench_real_votes.py " + " ".join(sys.argv[1:])
commands = [c for c in old.get("command", "").split("; ") if c and c != cmd] + [cmd]   # every run that wrote here
for seed in map(int, a.seeds.split(",")):
    for mode in modes:
        r = run(mode, seed); print(json.dumps(r), flush=True)
        key = lambda x: (x["mode"], x["seed"], x["size"], x["crop"], x["epochs"], x["arch"], x.get("split", "test"),
                         x.get("weights", "sqrt"))
        results = [x for x in results if key(x) != key(r)] + [r]
        out.write_text(json.dumps(dict(
            command="; ".join(commands),
            machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
            platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
            n=dict(train=len(tr), valid=len(va), test=len(te)), results=results), indent=1))
