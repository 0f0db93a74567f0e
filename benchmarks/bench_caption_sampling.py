"""Nucleus sampling on REAL galaxies: how `top_p` and `temperature` trade BLEU against diversity and facts.

The captioner `make run GZ2=…` trains (cpu profile, central half of the frame, 3 vote-templated references per
galaxy) learns the GZ2 training galaxies of `../shared/data`; each setting then captions the validation galaxies
(where a choice would be made) and the test galaxies (reported). Greedy and beam are scored beside them as anchors.
Writes `benchmarks/results/real_caption_sampling.json`.

    python benchmarks/bench_caption_sampling.py --seeds 0,1
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time, datetime
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT/"benchmarks"))

from cosmic_morph.config import CaptionConfig, RunConfig
from cosmic_morph.manifest import load_manifest
from cosmic_morph.real import REAL_SPLIT, GZ_IMAGE, real_rows
from cosmic_morph.captioning.metrics import evaluate_captions, factual_accuracy
from cosmic_morph.captioning.training import train_captioner, caption_split, vote_references, reference_lists
from bench_real_galaxies import SHARED, build_store

KEEP = ("n", "bleu4", "top3_share", "unique_share", "factual_accuracy", "class_accuracy")

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", default="0"); p.add_argument("--top-p", default="0.5,0.7,0.8,0.9,1.0")
    p.add_argument("--temperatures", default="0.7,1.0"); p.add_argument("--work", default="/tmp/cm-real")
    p.add_argument("--out", default=str(ROOT/"benchmarks/results/real_caption_sampling.json"))
    a = p.parse_args()
    if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    store = build_store(work, 600, RunConfig.for_profile("cpu").gz1_per_class)   # the store bench_real_galaxies.py uses
    gz2 = real_rows(load_manifest(store), "gz2").reset_index(drop=True)
    results = []
    for seed in map(int, a.seeds.split(",")):
        cfg, t0 = CaptionConfig.for_profile("cpu", center_crop=GZ_IMAGE["center_crop"]), time.time()
        refs = vote_references(gz2, n_refs=3, seed=seed)
        model = train_captioner(gz2, store, None, cfg, refs=refs, seed=seed, progress=False,
                                cache_dir=work/"caption-features")
        train_s = round(time.time() - t0, 1)
        settings = [("greedy", {}), ("beam", dict(beam_width=3, alpha=0.7))] + [
            ("sample", dict(top_p=float(tp), temperature=float(t), seed=seed))
            for t in a.temperatures.split(",") for tp in a.top_p.split(",")]
        for split in ("valid", "test"):
            rows = gz2[gz2["split"] == split].reset_index(drop=True)
            rl = reference_lists(rows, refs)
            for method, kw in settings:
                hyps = caption_split(model, store, rows, method, progress=False, **kw)
                s = evaluate_captions(rl, hyps) | factual_accuracy(hyps, rows)
                r = dict(seed=seed, split=split, method=method, train_seconds=train_s,
                         **{k: v for k, v in kw.items() if k != "seed"}, **{k: s[k] for k in KEEP})
                results.append(r); print(json.dumps(r), flush=True)
        Path(a.out).write_text(json.dumps(dict(
            command="python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:]),
            machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
            platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
            split=dict(ratios=REAL_SPLIT, seed=42), results=results), indent=1))


if __name__ == "__main__": main()
