"""How reproducible is a Galaxy Zoo 5-class label? A ceiling for any image model scored against it.

Each GZ2 label comes from ~40 volunteers' votes through the Willett et al. (2013) thresholds, so galaxies near a
threshold carry labels that a second set of volunteers could flip. This script asks the volunteers again, in
simulation: for every galaxy of `../shared/data/gz2` and every question it reaches, it redraws the answers
(multinomial, as many volunteers as reached the question: `total_classifications` × the product of the parent
answers' fractions, the fractions themselves as the probabilities) and labels the redrawn fractions with the same
rules. Two numbers per class and overall, over `--draws` redraws:

- `agreement`: how often a redrawn label equals the catalogue label;
- `ceiling`: the mean over galaxies of max_c P(redrawn label = c): the accuracy of a model that knew each galaxy's
  vote probabilities exactly, scored against labels drawn like the catalogue's (a plug-in estimate: the observed
  fractions stand in for the true probabilities, which flatters it slightly).

Writes `benchmarks/results/real_label_ceiling.json`.

    python benchmarks/bench_label_ceiling.py --draws 500
"""
from __future__ import annotations
import argparse, json, os, platform, sys, datetime
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]; SHARED = ROOT.parent/"shared"/"data"
sys.path.insert(0, str(ROOT))
import torch
from cosmic_morph.ingest.gz_votes import GZ2_TASKS, GZ5_CLASSES, VOTE_COLUMNS, gz5_labels
from cosmic_morph.captioning.pretrain import VoteLoss   # its `reach`: the share of volunteers at each question
from cosmic_morph.ingest.gz2 import read_gz2_table, hart16_vote_columns


def redraw(v:pd.DataFrame, n:np.ndarray, rng) -> pd.DataFrame:
    "One simulated re-vote: each question's answers redrawn from its fractions by the volunteers who reached it."
    w = {t: r.numpy() for t, r in VoteLoss(VOTE_COLUMNS).reach(torch.from_numpy(v[VOTE_COLUMNS].to_numpy(float))).items()}
    out = v.copy()
    for t, answers in GZ2_TASKS.items():
        cols = [f"vote_{t}_{a}" for a in answers]
        p = v[cols].to_numpy(float); p = p / np.clip(p.sum(1, keepdims=True), 1e-9, None)
        k = np.maximum(np.rint(n * w[t[:3]]).astype(int), 1)
        p = np.where(p.sum(1, keepdims=True) > 0, p, 1 / len(cols))
        out[cols] = rng.multinomial(k, p) / k[:, None]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=int, default=500); ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fraction", default="debiased")
    ap.add_argument("--out", default=str(ROOT/"benchmarks/results/real_label_ceiling.json"))
    a = ap.parse_args()
    if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
    t, _ = read_gz2_table(SHARED/"gz2"/"gz2_hart16.csv", a.fraction)
    cols = hart16_vote_columns(a.fraction)
    v = t[list(cols)].rename(columns=cols).fillna(0.0).clip(0, 1)
    n = t["total_classifications"].to_numpy(float)
    label = gz5_labels(v).to_numpy()
    rng = np.random.default_rng(a.seed)
    counts = np.zeros((len(v), len(GZ5_CLASSES)))
    for _ in range(a.draws):
        lab = gz5_labels(redraw(v, n, rng)).to_numpy()
        counts[np.arange(len(v)), [GZ5_CLASSES.index(x) for x in lab]] += 1
    p = counts / a.draws
    agree = p[np.arange(len(v)), [GZ5_CLASSES.index(x) for x in label]]
    per_class = {c: dict(n=int((label == c).sum()), agreement=float(agree[label == c].mean()),
                         ceiling=float(p[label == c].max(1).mean())) for c in GZ5_CLASSES if (label == c).any()}
    res = dict(command="python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:]),
               machine=f"{os.cpu_count()}-core CPU", platform=platform.platform(), date=datetime.date.today().isoformat(),
               fraction=a.fraction, draws=a.draws, n=len(v), median_volunteers=float(np.median(n)),
               agreement=float(agree.mean()), ceiling=float(p.max(1).mean()), per_class=per_class)
    Path(a.out).write_text(json.dumps(res, indent=1)); print(json.dumps(res, indent=1))


if __name__ == "__main__": main()
