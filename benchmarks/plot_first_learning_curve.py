"""FIRST learning curve: test accuracy against the number of training images, from runs already in first_accuracy.json.

Reads the literature-split runs of the tags below (48 epochs, stretch, weight decay 0.1; `--train-fraction` 0.25 / 0.5
and the full train set), fits accuracy = a + b·log2(n_train) to the per-seed points of each architecture, and writes
benchmarks/results/first_learning_curve.png and .json (points, fit, and the n_train at which the fit crosses 0.90).
No training here: run the bench commands recorded in the JSON first.

  python benchmarks/plot_first_learning_curve.py
"""
import json
from pathlib import Path
import numpy as np
import matplotlib; matplotlib.use("Agg")
import matplotlib.pyplot as plt

RESULTS = Path(__file__).parent/"results"
CURVES = {"resnet18": ["lc-48ep-f0.25", "lc-48ep-f0.5", "lit-48ep-stretch-wd0.1"], "d4cnn": ["lit-48ep-d4cnn"]}

def points(tags):
    log = json.loads((RESULTS/"first_accuracy.json").read_text())
    runs = [(e["tag"], e["command"], r) for e in log if e["tag"] in tags and e["mode"] == "literature" for r in e["runs"]]
    n_full = 1758   # literature train set; older runs did not record n_train
    return [dict(tag=t, seed=r["seed"], n_train=r.get("n_train", n_full), accuracy=r["accuracy"], accuracy_tta=r["accuracy_tta"]) for t, _, r in runs], \
           sorted({c for t, c, _ in runs})

if __name__ == "__main__":
    out = dict(what=__doc__.split("\n")[0], curves={})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    for (arch, tags), color in zip(CURVES.items(), ["tab:blue", "tab:red"]):
        pts, cmds = points(tags)
        if not pts: continue
        cur = dict(tags=tags, commands=cmds, points=pts)
        for ax, key in zip(axes, ["accuracy", "accuracy_tta"]):
            n = np.array([p["n_train"] for p in pts]); y = np.array([p[key] for p in pts])
            ax.scatter(n, y, color=color, alpha=0.5, s=18)
            ns = sorted(set(n)); means = [y[n == v].mean() for v in ns]
            ax.plot(ns, means, "o-", color=color, label=f"{arch} (mean of seeds)")
            if len(ns) > 1:
                b, a = np.polyfit(np.log2(n), y, 1)
                cur[f"fit_{key}"] = dict(a=round(a, 4), b_per_doubling=round(b, 4), n_train_for_0_90=int(round(2 ** ((0.90 - a) / b))) if b > 0 else None)
                xs = np.geomspace(min(ns), 4 * max(ns), 50)
                ax.plot(xs, a + b * np.log2(xs), "--", color=color, alpha=0.6, label=f"{arch} fit: +{b:.3f} per doubling")
        out["curves"][arch] = cur
    for ax, title in zip(axes, ["plain", "D4 test-time augmentation"]):
        ax.axhline(0.90, color="grey", ls=":", label="target 0.90"); ax.set_xscale("log", base=2)
        ax.set_xlabel("training images (literature train set = 1758)"); ax.set_title(f"FIRST literature test (200), {title}")
    axes[0].set_ylabel("test accuracy"); axes[0].legend(fontsize=8)
    fig.tight_layout(); fig.savefig(RESULTS/"first_learning_curve.png", dpi=110)
    (RESULTS/"first_learning_curve.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({a: {k: v for k, v in c.items() if k.startswith("fit")} for a, c in out["curves"].items()}))
