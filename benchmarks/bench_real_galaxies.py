"""Galaxy Zoo 5-class on REAL galaxies: what each ingredient adds, on a fixed, seeded GZ2 test split.

Trains only on `../shared/data` (GZ2 train/valid rows, GZ1) and synthetic GalSim galaxies; the test rows are the
GZ2 galaxies that `ingest_real_galaxies` (split seed 42) marks `test` (the same ones in every variant and in
`cosmic-morph run --gz2`). Writes `benchmarks/results/real_galaxies.json` (one entry per variant and seed).

    python benchmarks/bench_real_galaxies.py --variants real,gz1_zero,gz1_then_real --seeds 0,1,2
    python benchmarks/bench_real_galaxies.py --rescore valid    # the same models on the validation galaxies

`real_noweights` is the recipe `make run GZ2=…` trains (`GZ_REAL`, chosen on the validation galaxies); the other
variants keep the cpu profile's class weights.

Variants:
- `real`: GZ2 train rows only.              - `gz1_zero`: GZ1 only, scored zero-shot on the GZ2 test rows.
- `synth_zero`: synthetic only, zero-shot.   - `gz1_then_real`: GZ1 model fine-tuned on the GZ2 train rows.
- `synth_then_real`: synthetic, then real.   - `gz1_plus_real`: GZ1 and GZ2 train rows together.
- `…_nod4`: the same with plain (non-equivariant) ResNet instead of the D4 CNN; `…_noweights`: no class weights.
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


def run_variant(name:str, m:pd.DataFrame, store:str, work:Path, seed:int, args) -> dict:
    from cosmic_morph.train import train
    arch = "resnet18" if name.endswith("_nod4") else None
    weights = "none" if name.endswith("_noweights") else None
    base = name.replace("_nod4", "").replace("_noweights", "")
    kw = dict(arch=arch, imbalance=weights, num_threads=args.threads)
    steps = {"real": [("gz2", args.epochs)], "gz1_zero": [("gz1", args.gz1_epochs)],
             "synth_zero": [("synthetic", args.synth_epochs)],
             "gz1_then_real": [("gz1", args.gz1_epochs), ("gz2", args.epochs)],
             "synth_then_real": [("synthetic", args.synth_epochs), ("gz2", args.epochs)],
             "gz1_plus_real": [("gz1+gz2", args.epochs)]}[base]
    t0, prev, out, chain = time.time(), None, None, name.removeprefix(base)
    for sources, epochs in steps:
        chain += f"-{sources}{epochs}"                 # a step shared by two variants (GZ1 alone) is trained once
        out = work/f"s{seed}{chain}"
        if not (out/"model.safetensors").exists():
            rows = real_rows(m, sources.split("+"))
            cfg = TrainConfig.for_profile("cpu", epochs=epochs, pretrained=str(prev) if prev else "none", **GZ_IMAGE, **kw)
            train(rows, store, out, cfg, seed=seed, force=True, progress=False, lr_find=False)
        prev = out
    res = score_real(out, m, store)
    return dict(variant=name, seed=seed, steps=[dict(sources=s, epochs=e) for s, e in steps],
                seconds=round(time.time() - t0, 1), **res)


def rescore(a, m:pd.DataFrame, store:str, work:Path):
    "Score every variant's final model of a finished run (`--out`'s results) on split `a.rescore`."
    done = json.loads(Path(a.out).read_text())
    results = []
    for r in done["results"]:
        base = r["variant"].replace("_nod4", "").replace("_noweights", "")
        chain = r["variant"].removeprefix(base) + "".join(f"-{s['sources']}{s['epochs']}" for s in r["steps"])
        res = score_real(work/f"s{r['seed']}{chain}", m, store, split=a.rescore)
        results.append(dict(variant=r["variant"], seed=r["seed"], steps=r["steps"], **res))
        print(json.dumps({k: results[-1][k] for k in ("variant", "seed", "n", "accuracy", "macro_f1")}), flush=True)
    out = Path(a.out).with_name(f"real_galaxies_{a.rescore}.json")
    out.write_text(json.dumps(dict(
        command="python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:]),
        what=f"the models of real_galaxies.json scored on the GZ2 {a.rescore} galaxies (choices are made here, not on test)",
        machine=f"{os.cpu_count()}-core CPU, no GPU", date=datetime.date.today().isoformat(),
        split=dict(ratios=REAL_SPLIT, seed=42, split=a.rescore), results=results), indent=1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--variants", default="real,real_nod4,real_noweights,gz1_zero,gz1_then_real,synth_zero,synth_then_real")
    p.add_argument("--seeds", default="0")
    p.add_argument("--epochs", type=int, default=None); p.add_argument("--gz1-epochs", type=int, default=None)
    p.add_argument("--synth-epochs", type=int, default=10); p.add_argument("--gz1-cap", type=int, default=None)
    p.add_argument("--synthetic-n", type=int, default=600); p.add_argument("--threads", type=int, default=None)
    p.add_argument("--work", default="/tmp/cm-real"); p.add_argument("--out", default=str(ROOT/"benchmarks/results/real_galaxies.json"))
    p.add_argument("--rescore", default=None,
                   help="score the final models already in --work on this split (e.g. valid) into real_galaxies_<split>.json")
    a = p.parse_args()
    if not SHARED.exists(): sys.exit(f"{SHARED}: the real data folder is absent (see data/README.md); nothing to measure")
    from cosmic_morph.config import RunConfig
    r = RunConfig.for_profile("cpu")
    a.epochs, a.gz1_epochs = a.epochs or r.gz2_epochs, a.gz1_epochs or r.gz1_epochs
    a.gz1_cap = a.gz1_cap or r.gz1_per_class
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    store = build_store(work, a.synthetic_n, a.gz1_cap); m = load_manifest(store)
    if a.rescore: return rescore(a, m, store, work)
    out = Path(a.out); old = json.loads(out.read_text()) if out.exists() else {}
    results, cmd = old.get("results", []), "python benchmarks/" + Path(__file__).name + " " + " ".join(sys.argv[1:])
    commands = [c for c in old.get("command", "").split("; ") if c and c != cmd] + [cmd]   # every run that wrote here
    for seed in map(int, a.seeds.split(",")):
        for v in a.variants.split(","):
            res = run_variant(v, m, store, work, seed, a)
            print(json.dumps({k: res[k] for k in ("variant", "seed", "accuracy", "macro_f1", "seconds")}), flush=True)
            results = [x for x in results if not (x["variant"] == v and x["seed"] == seed)] + [res]
            out.write_text(json.dumps(dict(
                command="; ".join(commands),
                machine=f"{os.cpu_count()}-core CPU, no GPU; load average {os.getloadavg()[0]:.1f} at the end",
                platform=platform.platform(), torch=torch.__version__, date=datetime.date.today().isoformat(),
                split=dict(ratios=REAL_SPLIT, seed=42, n_test=int((real_rows(m, ["gz2"], split="test")).shape[0])),
                results=results), indent=1))


if __name__ == "__main__": main()
