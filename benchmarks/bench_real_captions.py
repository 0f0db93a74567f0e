"""Captions of REAL galaxies: what the captioner's view of the frame and its encoder change, per decoding method.

The captioner (cpu profile) learns the GZ2 training galaxies of `../shared/data` (captions templated from each
galaxy's own votes, 3 references each, as `09h_captioning` does) and is scored on the GZ2 validation galaxies (where
choices are made) and the fixed test galaxies (reported): BLEU-4, top-3 share and factual accuracy against the
votes, for every decoding method. Writes `benchmarks/results/real_captions.json`.

    python benchmarks/bench_real_captions.py --variants whole,crop50,clf --seeds 0,1

Variants:
- `whole`: the whole 424-pixel frame at 64 px (what `make run GZ2=…` did before `center_crop`).
- `crop50`: the central half of the frame, as the Galaxy Zoo classifiers see it (`real.GZ_IMAGE`).
- `clf`: the body of the GZ 5-class classifier `bench_real_galaxies.py` trained for this seed (`real_noweights`,
  its own crop) as the encoder, then pretrained on the votes as usual.
- `lite`: EfficientNet-Lite0 from its ImageNet weights (shipped by a package) as the encoder, central half.
- `clf_efl0`: the body of the ImageNet-started classifier (`real_noweights_efl0_blr100`) as the encoder.

Besides the four decoding methods, every variant is scored with `votes+classifier` (the `votes` captions with the
class the GZ 5-class classifier of this seed gives: `real_noweights`, what `make run GZ2=…` trains) and
`votes+ensemble3` (the class of seeds 0-2 of that classifier averaged, `MEMBERS=3`), where
`bench_real_galaxies.py --variants real_noweights --seeds 0,1,2` has trained them in `--work`.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time, datetime
from pathlib import Path
import pandas as pd, torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT/"benchmarks"))

from cosmic_morph.config import CaptionConfig
from cosmic_morph.manifest import load_manifest
from cosmic_morph.real import REAL_SPLIT, GZ_IMAGE, real_rows
from cosmic_morph.captioning.metrics import evaluate_captions, factual_accuracy
from cosmic_morph.captioning.training import (train_captioner, caption_split, vote_references, reference_lists,
                                              classifier_labels)
from cosmic_morph.models.core import ensemble_models
from bench_real_galaxies import SHARED, build_store


def variant_config(name:str, seed:int, work:Path) -> CaptionConfig:
    if name == "whole": return CaptionConfig.for_profile("cpu", center_crop=1.0)
    if name == "crop50": return CaptionConfig.for_profile("cpu", center_crop=GZ_IMAGE["center_crop"])
    if name == "lite": return CaptionConfig.for_profile("cpu", center_crop=GZ_IMAGE["center_crop"],
                                                        encoder="tf_efficientnet_lite0")
    if name in ("clf", "clf_efl0"):
        clf = work/(f"s{seed}_noweights-gz220" if name == "clf" else f"s{seed}_noweights_efl0_blr100-gz220")
        if not (clf/"model.safetensors").exists():
            sys.exit(f"{clf}: no classifier; run bench_real_galaxies.py --variants real_noweights"
                     f"{'' if name == 'clf' else '_efl0_blr100'} --seeds {seed} first")
        return CaptionConfig.for_profile("cpu", encoder=str(clf))
    raise SystemExit(f"unknown variant {name!r}: whole, crop50, lite, clf or clf_efl0")


def classifiers(seed:int, work:Path) -> dict:
    "The GZ 5-class classifiers that name the class of `votes` captions: this seed's, and seeds 0-2 averaged."
    one = work/f"s{seed}_noweights-gz220"; three = [work/f"s{s}_noweights-gz220" for s in range(3)]
    out = {"votes+classifier": one} if (one/"model.safetensors").exists() else {}
    if all((f/"model.safetensors").exists() for f in three):
        ens = work/"ens3_noweights-gz220"
        if not (ens/"model.safetensors").exists(): ensemble_models(three, ens)
        out["votes+ensemble3"] = ens
    return out


def run(name:str, seed:int, gz2:pd.DataFrame, store:str, work:Path) -> dict:
    cfg, t0 = variant_config(name, seed, work), time.time()
    refs = vote_references(gz2, n_refs=3, seed=seed)
    model = train_captioner(gz2, store, None, cfg, refs=refs, seed=seed, progress=False,
                            cache_dir=work/"caption-features")
    out = dict(variant=name, seed=seed, train_seconds=round(time.time() - t0, 1), scores={})
    for split in ("valid", "test"):
        rows = gz2[gz2["split"] == split].reset_index(drop=True)
        rl = reference_lists(rows, refs)
        methods = {"greedy": {}, "beam": dict(beam_width=3, alpha=0.7), "sample": dict(top_p=0.9, seed=seed),
                   "votes": dict(seed=seed)}
        for key, clf in classifiers(seed, work).items():
            methods[key] = dict(seed=seed, labels=classifier_labels(clf, store, rows, progress=False))
        for key, kw in methods.items():
            method = "votes" if key.startswith("votes") else key
            hyps = caption_split(model, store, rows, method, progress=False, **kw)
            s = evaluate_captions(rl, hyps) | factual_accuracy(hyps, rows)
            out["scores"][f"{split}/{key}"] = {k: s[k] for k in ("n", "bleu4", "top3_share", "unique_share",
                                                                    "factual_accuracy", "class_accuracy")}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--variants", default="whole,crop50,clf"); p.add_argument("--seeds", default="0")
    p.add_argument("--work", default="/tmp/cm-real")
    p.add_argument("--out", default=str(ROOT/"benchmarks/results/real_captions.json"))
    a = p.parse_args()
    if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    from cosmic_morph.config import RunConfig
    store = build_store(work, 600, RunConfig.for_profile("cpu").gz1_per_class)   # the store bench_real_galaxies.py uses
    m = load_manifest(store)
    gz2 = real_rows(m, "gz2").reset_index(drop=True)
    out = Path(a.out); old = json.loads(out.read_text()) if out.exists() else {}
    results, cmd = old.get("results", []), "python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:])
    commands = [c for c in old.get("command", "").split("; ") if c and c != cmd] + [cmd]   # every run that wrote here
    for seed in map(int, a.seeds.split(",")):
        for v in a.variants.split(","):
            r = run(v, seed, gz2, store, work)
            print(json.dumps(dict(variant=v, seed=seed, **{k: round(s["factual_accuracy"] or 0, 3)
                                                           for k, s in r["scores"].items()})), flush=True)
            results = [x for x in results if not (x["variant"] == v and x["seed"] == seed)] + [r]
            out.write_text(json.dumps(dict(
                command="; ".join(commands),
                machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
                platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
                split=dict(ratios=REAL_SPLIT, seed=42), results=results), indent=1))


if __name__ == "__main__": main()
