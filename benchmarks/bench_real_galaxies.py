"""Galaxy Zoo 5-class on REAL galaxies: what each ingredient adds, on a fixed, seeded GZ2 test split.

Trains only on `../shared/data` (GZ2 train/valid rows, GZ1) and synthetic GalSim galaxies; the test rows are the
GZ2 galaxies that `ingest_real_galaxies` (split seed 42) marks `test` (the same ones in every variant and in
`cosmic-morph run --gz2`). Writes `benchmarks/results/real_galaxies.json` (one entry per variant and seed).

    python benchmarks/bench_real_galaxies.py --variants real,gz1_zero,gz1_then_real --seeds 0,1,2
    python benchmarks/bench_real_galaxies.py --rescore valid    # the same models on the validation galaxies
    python benchmarks/bench_real_galaxies.py --split valid --variants real_noweights,real_noweights_px96 \
        --seeds 0,1,2 --ensemble                                # choosing a recipe: valid only, seeds as one ensemble
    python benchmarks/bench_real_galaxies.py --cv 5 --variants real_noweights,real_noweights_efl0_blr100
                                                                # or on all 556 train+valid galaxies, 5 folds

`real_noweights` is the recipe `make run GZ2=…` trains (`GZ_REAL`, chosen on the validation galaxies); the other
variants keep the cpu profile's class weights.

Variants:
- `real`: GZ2 train rows only.              - `gz1_zero`: GZ1 only, scored zero-shot on the GZ2 test rows.
- `synth_zero`: synthetic only, zero-shot.   - `gz1_then_real`: GZ1 model fine-tuned on the GZ2 train rows.
- `synth_then_real`: synthetic, then real.   - `gz1_plus_real`: GZ1 and GZ2 train rows together.
- `…_nod4`: the same with plain (non-equivariant) ResNet instead of the D4 CNN; `…_noweights`: no class weights.
- `…_efl0`: EfficientNet-Lite0 starting from ImageNet weights (the packaged ones, `models.core.PACKAGED_WEIGHTS`).
- `…_px96`: 96-pixel images; `…_crop35`: the central 35 % of the frame; `…_ep40`: 40 epochs on GZ2;
  `…_ls10`: label smoothing 0.10; `…_blr100`: a pretrained body fine-tunes at 100 % of `lr` (default 1 %);
  `…_soft5`: GZ2 rows train on their votes, the Willett rules with sigmoid thresholds of width 0.05 (`soft_labels`);
  `…_vh100`: a second head learns the 37 vote fractions, its loss weighted 1.00 (`vote_head`).
  `…_ens3` (with `--ensemble`): the seeds' models averaged. `a+b`: the models of variants a and b (same seed,
  trained first) averaged; `a+a@1`: variant a's models of this seed and of seed 1.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time, datetime
from pathlib import Path
import numpy as np, pandas as pd, torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent/"shared"/"data"
sys.path.insert(0, str(ROOT))

from cosmic_morph.manifest import load_manifest
from cosmic_morph.config import TrainConfig, RunConfig
from cosmic_morph.real import REAL_SPLIT, GZ_IMAGE, ingest_real_galaxies, real_rows, score_real


def build_store(work:Path, synthetic_n:int, gz1_cap:int|None) -> str:
    "GZ2 (fixed split), GZ1 (at most `gz1_cap` per class) and synthetic galaxies in one store, split as a run splits."
    from cosmic_morph.synthetic import ingest_synthetic
    from cosmic_morph.split import split_store
    store = str(work/"store")
    if not (work/"store"/"manifest.parquet").exists():
        ingest_real_galaxies(store, SHARED/"gz2", SHARED/"gz1", gz1_per_class=gz1_cap)
        ingest_synthetic(store, n=synthetic_n, seed=0, size=RunConfig.for_profile("cpu").synthetic_size)
        split_store(store, seed=42)
    return store


MODIFIERS = r"_(nod4|efl0|noweights|px\d+|crop\d+|ep\d+|ls\d+|blr\d+|soft\d+|vh\d+)"

def parse_variant(name:str, a) -> tuple:
    "(base, modifiers, TrainConfig overrides, steps) of a variant name such as `real_noweights_px96`."
    import re
    mods = "".join(m.group(0) for m in re.finditer(MODIFIERS, name))
    base = re.sub(MODIFIERS, "", name)
    kw, epochs = dict(num_threads=a.threads), a.epochs
    for m in re.findall(MODIFIERS, name):
        if m == "nod4": kw["arch"] = "resnet18"
        elif m == "efl0": kw["arch"], kw["pretrained"] = "tf_efficientnet_lite0", "imagenet"
        elif m == "noweights": kw["imbalance"] = "none"
        elif m.startswith("px"): kw["image_size"] = int(m[2:])
        elif m.startswith("crop"): kw["center_crop"] = int(m[4:]) / 100
        elif m.startswith("ls"): kw["label_smoothing"] = int(m[2:]) / 100
        elif m.startswith("blr"): kw["body_lr"] = int(m[3:]) / 100
        elif m.startswith("soft"): kw["soft_labels"] = int(m[4:]) / 100
        elif m.startswith("vh"): kw["vote_head"] = int(m[2:]) / 100
        elif m.startswith("ep"): epochs = int(m[2:])
    steps = {"real": [("gz2", epochs)], "gz1_zero": [("gz1", a.gz1_epochs)],
             "synth_zero": [("synthetic", a.synth_epochs)],
             "gz1_then_real": [("gz1", a.gz1_epochs), ("gz2", epochs)],
             "synth_then_real": [("synthetic", a.synth_epochs), ("gz2", epochs)],
             "gz1_plus_real": [("gz1+gz2", epochs)]}[base]
    return base, mods, kw, steps


def model_dir(work:Path, seed:int, mods:str, steps:list) -> Path:
    "Where a variant's final model is cached: a step shared by two variants (GZ1 alone) is trained once."
    if len(steps) == 1 and "_efl0" not in mods:   # a random first step: body_lr does not change it
        import re; mods = re.sub(r"_blr\d+", "", mods)
    return work/(f"s{seed}{mods}" + "".join(f"-{s}{e}" for s, e in steps))


def run_variant(name:str, m:pd.DataFrame, store:str, work:Path, seed:int, args) -> dict:
    from cosmic_morph.train import train
    if "+" in name:              # `a+b`: the models of variants a and b (trained before) as one ensemble; `a@1`: seed 1's
        parts = [(v.partition("@")[0], int(v.partition("@")[2] or seed)) for v in name.split("+")]
        dirs = [model_dir(work, sd, *parse_variant(v, args)[1::2]) for v, sd in parts]
        if not all((d/"model.safetensors").exists() for d in dirs): raise SystemExit(f"{name}: train its parts first")
        return dict(variant=name, seed=seed, steps=[], seconds=None, **score_real(dirs, m, store, split=args.split))
    base, mods, kw, steps = parse_variant(name, args)
    prev, train_s, first = None, 0.0, kw.pop("pretrained", "none")
    for i in range(len(steps)):
        out = model_dir(work, seed, mods, steps[:i+1])
        if not (out/"model.safetensors").exists():
            rows = real_rows(m, steps[i][0].split("+"))
            cfg = TrainConfig.for_profile("cpu", epochs=steps[i][1], pretrained=str(prev) if prev else first,
                                          **(GZ_IMAGE | kw))
            train(rows, store, out, cfg, seed=seed, force=True, progress=False, lr_find=False)
        train_s += json.loads((out/"config.json").read_text())["training"]["seconds"]   # also when trained earlier
        prev = out
    t0 = time.time(); res = score_real(out, m, store, split=args.split)
    return dict(variant=name, seed=seed, steps=[dict(sources=s, epochs=e) for s, e in steps],
                seconds=round(train_s + time.time() - t0, 1), **res)


def ensemble_score(name:str, seeds:list, m:pd.DataFrame, store:str, work:Path, args) -> dict:
    "The seeds' models of one variant as one ensemble: their D4-averaged probabilities averaged again."
    _, mods, _, steps = parse_variant(name, args)
    res = score_real([model_dir(work, seed, mods, steps) for seed in seeds], m, store, split=args.split)
    return dict(variant=f"{name}_ens{len(seeds)}", seed=",".join(map(str, seeds)),
                steps=[dict(sources=s, epochs=e) for s, e in steps], **res)


def rescore(a, m:pd.DataFrame, store:str, work:Path):
    "Score every variant's final model of a finished run (`--out`'s results) on split `a.rescore`."
    done = json.loads(Path(a.out).read_text())
    results = []
    for r in done["results"]:
        if "_ens" in r["variant"]: continue
        _, mods, _, steps = parse_variant(r["variant"], a)
        steps = [(s["sources"], s["epochs"]) for s in r["steps"]]
        res = score_real(model_dir(work, r["seed"], mods, steps), m, store, split=a.rescore)
        results.append(dict(variant=r["variant"], seed=r["seed"], steps=r["steps"], **res))
        print(json.dumps({k: results[-1][k] for k in ("variant", "seed", "n", "accuracy", "macro_f1")}), flush=True)
    out = Path(a.out).with_name(f"real_galaxies_{a.rescore}.json")
    old = json.loads(out.read_text())["results"] if out.exists() else []
    keep = [x for x in old if (x["variant"], x["seed"]) not in {(r["variant"], r["seed"]) for r in results}]
    out.write_text(json.dumps(dict(
        command="python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:]),
        what=f"the models of real_galaxies.json scored on the GZ2 {a.rescore} galaxies (choices are made here, not on test)",
        machine=f"{os.cpu_count()}-core CPU, no GPU", date=datetime.date.today().isoformat(),
        split=dict(ratios=REAL_SPLIT, seed=42, split=a.rescore), results=keep + results), indent=1))


def cv_manifest(m:pd.DataFrame, k:int, K:int) -> pd.DataFrame:
    "`m` with the GZ2 train+valid galaxies split anew: fold `k` of `K` (stratified by label, seed 0) valid, the rest train."
    from sklearn.model_selection import StratifiedKFold
    gz = m[(m["source"] == "gz2") & m["split"].isin(["train", "valid"]) & m["label"].notna()].sort_values("image_id")
    folds = list(StratifiedKFold(K, shuffle=True, random_state=0).split(gz, gz["label"].astype(str)))
    m = m.copy(); m.loc[gz.index, "split"] = "train"; m.loc[gz.index[folds[k][1]], "split"] = "valid"
    return m


def cross_validate(a, m:pd.DataFrame, store:str, work:Path):
    "Each variant trained K times, each fold of the 556 GZ2 train+valid galaxies scored once: a choice made on all of them."
    K, seed, out = a.cv, int(a.seeds.split(",")[0]), Path(a.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    results, cmd = old.get("results", []), "python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:])
    commands = [c for c in old.get("command", "").split("; ") if c and c != cmd] + [cmd]
    a.split = "valid"
    for v in a.variants.split(","):
        for k in range(K):
            res = dict(run_variant(v, cv_manifest(m, k, K), store, work/f"cv{K}-{k}", seed, a), fold=k, folds=K)
            print(json.dumps({f: res.get(f) for f in ("variant", "fold", "n", "accuracy", "macro_f1", "seconds")}), flush=True)
            results = [x for x in results if not (x["variant"] == v and x["fold"] == k and x["folds"] == K
                                                  and x["seed"] == seed)] + [res]
            out.write_text(json.dumps(dict(
                command="; ".join(commands), what=f"{K}-fold cross-validation over the GZ2 train+valid galaxies "
                "(stratified by label, seed 0; the test galaxies are never used); pooled accuracy = folds weighted by n",
                machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
                platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
                results=results), indent=1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--variants", default="real,real_nod4,real_noweights,gz1_zero,gz1_then_real,synth_zero,synth_then_real")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=None); p.add_argument("--gz1-epochs", type=int, default=None)
    p.add_argument("--synth-epochs", type=int, default=10); p.add_argument("--gz1-cap", type=int, default=None)
    p.add_argument("--synthetic-n", type=int, default=600); p.add_argument("--threads", type=int, default=None)
    p.add_argument("--work", default="/tmp/cm-real"); p.add_argument("--out", default=None)
    p.add_argument("--split", default="test", help="the GZ2 split to score: test, or valid while choosing a recipe "
                   "(then the results go to real_galaxies_valid.json unless --out says otherwise)")
    p.add_argument("--ensemble", action="store_true", help="also score each variant's seeds as one ensemble")
    p.add_argument("--rescore", default=None,
                   help="score the final models already in --work on this split (e.g. valid) into real_galaxies_<split>.json")
    p.add_argument("--cv", type=int, default=None, help="K-fold cross-validation over the GZ2 train+valid galaxies "
                   "(first seed only) into real_galaxies_cv.json: recipe choices on 556 galaxies instead of 69")
    a = p.parse_args()
    a.out = a.out or str(ROOT/"benchmarks/results"/("real_galaxies_cv.json" if a.cv else "real_galaxies.json"
                                                    if a.split == "test" else f"real_galaxies_{a.split}.json"))
    if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
    from cosmic_morph.config import RunConfig
    r = RunConfig.for_profile("cpu")
    a.epochs, a.gz1_epochs = a.epochs or r.gz2_epochs, a.gz1_epochs or r.gz1_epochs
    a.gz1_cap = a.gz1_cap or r.gz1_per_class
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    store = build_store(work, a.synthetic_n, a.gz1_cap); m = load_manifest(store)
    if a.rescore: return rescore(a, m, store, work)
    if a.cv: return cross_validate(a, m, store, work)
    out = Path(a.out); old = json.loads(out.read_text()) if out.exists() else {}
    results, cmd = old.get("results", []), "python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:])
    commands = [c for c in old.get("command", "").split("; ") if c and c != cmd] + [cmd]   # every run that wrote here
    seeds = list(map(int, a.seeds.split(",")))
    jobs = [(v, s) for s in seeds for v in a.variants.split(",")]
    if a.ensemble: jobs += [(v, None) for v in a.variants.split(",") if "+" not in v]
    for v, seed in jobs:
        res = run_variant(v, m, store, work, seed, a) if seed is not None else ensemble_score(v, seeds, m, store, work, a)
        print(json.dumps({k: res.get(k) for k in ("variant", "seed", "accuracy", "macro_f1", "seconds")}), flush=True)
        results = [x for x in results if not (x["variant"] == res["variant"] and x["seed"] == res["seed"])] + [res]
        out.write_text(json.dumps(dict(
            command="; ".join(commands),
            machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
            platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
            split=dict(ratios=REAL_SPLIT, seed=42, **{f"n_{a.split}": int(len(real_rows(m, ["gz2"], split=a.split)))}),
            results=results), indent=1))


if __name__ == "__main__": main()
