"""Where a real galaxy's caption goes wrong: its class or its details. On a finished `--gz2` main job.

The run's captioner writes `votes` captions of the run's test galaxies three ways: with the class its own vote head
gives (`votes`), with the class the run's GZ 5-class model gives (`votes+classifier`, as `09h_captioning` does), and
with each galaxy's true class (`votes+truth`: an oracle, the most a better classifier could give). The details come
from the vote head every time. The first two must equal the run's own `caption_metrics` (checked). Writes
`benchmarks/results/caption_class_<run>.json`.

    python benchmarks/bench_caption_class.py --run runs/clf-oracle
"""
from __future__ import annotations
import argparse, json, os, platform, sys, datetime
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cosmic_morph.manifest import load_manifest
from cosmic_morph.captioning.model import load_captioner
from cosmic_morph.captioning.metrics import evaluate_captions, factual_accuracy
from cosmic_morph.captioning.training import (caption_rows, caption_split, classifier_labels, reference_lists,
                                              vote_references)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True); p.add_argument("--n-refs", type=int, default=3)
    a = p.parse_args()
    run = Path(a.run); summary = json.loads((run/"summary.json").read_text())
    if not (summary.get("data") or {}).get("gz2"):
        sys.exit(f"{run}: not a --gz2 run (its captions are of synthetic galaxies)")
    store, seed = summary["store"], summary["seed"]
    m = load_manifest(store)
    captioned = m[m["caption"].notna()]
    refs = vote_references(captioned, n_refs=a.n_refs, seed=seed)      # as 09h_captioning makes them
    rows = caption_rows(m, "test"); rl = reference_lists(rows, refs)
    model = load_captioner(run/"captioning"/"captioner", device="cpu")
    named = classifier_labels(run/"gz5"/"model", store, rows, progress=False, device="cpu")
    labels = {"votes": None, "votes+classifier": named, "votes+truth": list(rows["label"])}
    scores = {}
    for name, lab in labels.items():
        hyps = caption_split(model, store, rows, "votes", progress=False, seed=seed, labels=lab)
        scores[name] = evaluate_captions(rl, hyps) | factual_accuracy(hyps, rows)
        shown = ("factual_accuracy", "class_accuracy", "bleu4", "top3_share")
        print(name, {k: round(scores[name][k], 3) for k in shown}, flush=True)
    ran = summary["caption_metrics"]["decoding"]
    for name in ("votes", "votes+classifier"):
        if name in ran:
            same = abs(ran[name]["factual_accuracy"] - scores[name]["factual_accuracy"]) < 1e-9
            assert same, f"{name}: differs from the run"
    out = ROOT/"benchmarks"/"results"/f"caption_class_{run.name}.json"
    out.write_text(json.dumps(dict(
        command=f"python benchmarks/{Path(__file__).name} --run {a.run}", run_command=f"cosmic-morph run --out {run} "
        f"--gz2 {summary['data']['gz2']}", date=datetime.date.today().isoformat(), n=len(rows),
        machine=f"{os.cpu_count()}-core CPU, no GPU", platform=platform.platform(), torch=torch.__version__,
        what="votes captions of one run's test galaxies, the class from its vote head, its GZ model or the truth",
        gz5_metrics=summary.get("gz5_metrics"), scores=scores), indent=1))
    print("wrote", out)


if __name__ == "__main__": main()
