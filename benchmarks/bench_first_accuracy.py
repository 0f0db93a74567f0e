"""FIRST radio-galaxy accuracy of a training profile: test accuracy / macro-F1, mean ± std over seeds.

Modes
- literature (default): the fixed literature split of `firstgalaxydata` (train 1758, valid 200, test 200 = 50/class).
  Target: accuracy >= 0.90 and macro-F1 >= 0.90.
- --crossvalid: the package's 5-fold cross-validation files (fold k: train/valid of `crossvalid_k`) scored on its
  400-image `crossvalid_test` set, to compare with the published 0.790 (CNN), 0.806 (ViT) and 0.8135
  (CNN + wGAN augmentation; Rustige et al. 2023). Target >= 0.86.

Each run is appended to benchmarks/results/first_accuracy.json (config, per-seed/fold metrics incl. per class,
minutes, training images/s) and a Markdown row to benchmarks/results/first_accuracy.md. Test images are
preprocessed exactly as in training (centre crop, squish, PIL bilinear, intensity stretches: `cosmic_morph.train.load_rgb`); the
accuracy is reported plain and with D4 test-time augmentation (mean of the 8 orientations).

Every run's test-set class probabilities (plain and D4 TTA) go to benchmarks/results/first_probs/<tag>/, so
the models of one tag (seeds, or the five folds) can be scored as an ensemble afterwards: `--ensemble TAG` averages
their probabilities per test image and appends the ensemble's metrics to first_accuracy.json (mode `...-ensemble`).

Examples
  python benchmarks/bench_first_accuracy.py --seeds 0 1 2                          # cpu profile, literature split
  python benchmarks/bench_first_accuracy.py --seeds 0 --set epochs=8 imbalance=focal --tag focal-8ep
  python benchmarks/bench_first_accuracy.py --crossvalid --seeds 0
  python benchmarks/bench_first_accuracy.py --crossvalid --seeds 0 --set epochs=32 --tag cv-32ep --folds 0 1 2
  python benchmarks/bench_first_accuracy.py --ensemble cv-32ep          # mean probabilities of the tag's models
  python benchmarks/bench_first_accuracy.py --ensemble lit-48ep-stretch lit-96ep-stretch   # ... of several tags' models
"""
import argparse, ast, contextlib, datetime, fcntl, json, os, platform, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch

from cosmic_morph.config import TrainConfig
from cosmic_morph.ingest.first import ingest_first
from cosmic_morph.manifest import load_manifest, read_meta
from cosmic_morph.split import split_store
from cosmic_morph.train import train
from cosmic_morph.data.images import image_cache
from cosmic_morph.inference import predict_probs
from cosmic_morph.evaluate import classification_metrics

RESULTS = Path(__file__).parent/"results"
CACHE = Path(os.environ.get("CM_BENCH_CACHE", Path(tempfile.gettempdir())/"cm-bench-first"))

def machine() -> dict:
    "Where the numbers were measured: the GPU by name when one trains the model, else the CPU."
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    desc = f"{gpu}, {os.cpu_count()} CPU cores" if gpu else f"{os.cpu_count()}-core CPU, no GPU (shared with other jobs)"
    return dict(description=desc, cpu_count=os.cpu_count(), platform=platform.platform(), torch=torch.__version__,
                cuda=torch.cuda.is_available(), gpu=gpu)

@contextlib.contextmanager
def results_lock():
    "Several benchmark processes may finish together (parallel folds): each read-modify-write of the log holds this lock."
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS/".first_accuracy.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try: yield
        finally: fcntl.flock(fh, fcntl.LOCK_UN)

def first_store(which:str) -> Path:
    """A store of one FIRST file with the package's own split, built once and reused between runs.

    The benchmark compares with published numbers, so every image stays in the split the package gives it
    (`max_distance=None`: no near-duplicate grouping). `cosmic-morph split`'s default leak check would move 5
    Compact sources of the literature file that look alike (3 test, 2 valid) into train; a cache split that way
    (or by an older rule) is re-split here."""
    d = CACHE/which
    if not (d/"manifest.parquet").exists(): ingest_first(d, which=which, progress=False)
    m = load_manifest(d)
    published = [read_meta(x).get("source_split") for x in m["meta"]]
    current = [None if pd.isna(x) else x for x in m["split"]] if "split" in m else None   # NA: ingested, not yet split
    if current != published: split_store(d, max_distance=None)
    return d

def test_metrics(learn, manifest, store, tta:bool) -> tuple[dict, dict]:
    "Metrics of the trained model on the `test` rows, preprocessed exactly as in training, and the probabilities by image id."
    cfg = learn.cm_config
    rows = manifest[(manifest.split == "test") & manifest.label.isin(cfg["classes"])]
    x = image_cache(store, rows, cfg["image_size"], cfg["center_crop"], progress=False, channels=cfg.get("channels", "rgb")).float() / 255
    x = (x - torch.tensor(cfg["mean"])[None, :, None, None]) / torch.tensor(cfg["std"])[None, :, None, None]
    model = learn.model.eval()
    probs = torch.cat([predict_probs(model, x[i:i+64], tta) for i in range(0, len(x), 64)])
    pred = [cfg["classes"][i] for i in probs.argmax(1)]
    return classification_metrics(rows.label, pred, cfg["classes"]), dict(zip(rows.image_id, probs.numpy().round(5).tolist()))

def subsample_train(m, fraction:float, seed:int):
    "The manifest with only `fraction` of each class's `train` rows kept (seeded); valid and test rows untouched."
    if not 0 < fraction <= 1: raise SystemExit(f"--train-fraction {fraction}: must be in (0, 1]")
    if fraction == 1: return m
    rng = np.random.default_rng(seed)
    tr = m[m.split == "train"]
    keep = [i for _, g in tr.groupby("label") for i in rng.choice(g.index.to_numpy(), max(1, round(fraction * len(g))), replace=False)]
    return m[(m.split != "train") | m.index.isin(keep)]

def one_run(train_store, test_store, profile, seed, overrides, workdir, train_fraction=1.0) -> dict:
    t0 = time.time()
    m = subsample_train(load_manifest(train_store), train_fraction, seed)
    learn = train(m, train_store, Path(workdir)/f"model-{seed}", profile=profile, taxonomy="first4", seed=seed,
                  progress=False, **overrides)
    t_train = time.time() - t0
    tm = load_manifest(test_store)
    (plain, p_plain), (tta, p_tta) = test_metrics(learn, tm, test_store, False), test_metrics(learn, tm, test_store, True)
    tr = learn.cm_config["training"]
    n_img = tr["n_train"] * len(tr["history"])
    last = tr["history"][-1]
    return dict(seed=seed, accuracy=plain["accuracy"], macro_f1=plain["macro_f1"], balanced_accuracy=plain["balanced_accuracy"],
                accuracy_tta=tta["accuracy"], macro_f1_tta=tta["macro_f1"], valid_accuracy=last["accuracy"],
                train_loss=round(last["train_loss"], 4), valid_loss=round(last["valid_loss"], 4),
                per_class={c: round(v["f1"], 3) for c, v in plain["per_class"].items()},
                per_class_recall={c: round(v["recall"], 3) for c, v in plain["per_class"].items()},
                n_train=tr["n_train"], epochs_run=len(tr["history"]), train_minutes=round(t_train / 60, 2),
                fit_images_per_s=round(n_img / tr["fit_seconds"], 1), data_seconds=tr["data_seconds"],
                probs=dict(classes=learn.cm_config["classes"], plain=p_plain, tta=p_tta))

def save_probs(tag:str, run:dict):
    "Move a run's test probabilities out of `run` into results/first_probs/<tag>/fold<k>-seed<s>.json."
    d = RESULTS/"first_probs"/(tag or "untagged")
    d.mkdir(parents=True, exist_ok=True)
    (d/f"fold{run.get('fold', '-')}-seed{run['seed']}.json").write_text(json.dumps(dict(seed=run["seed"], fold=run.get("fold"), **run.pop("probs"))))

def ensemble(tags:list, mode:str) -> dict:
    "Metrics of the mean class probabilities of all saved runs of `tags`, plain and with D4 TTA."
    saved = [json.loads(f.read_text()) for tag in tags for f in sorted((RESULTS/"first_probs"/tag).glob("*.json"))]
    classes = saved[0]["classes"]
    test = load_manifest(first_store("crossvalid_test" if mode == "crossvalid" else "literature"))
    truth = test.set_index("image_id").label
    out = dict(n_models=len(saved), members=[dict(seed=r["seed"], fold=r["fold"]) for r in saved], tags=list(tags))
    for kind in ("plain", "tta"):
        ids = list(saved[0][kind])
        p = np.mean([[r[kind][i] for i in ids] for r in saved], axis=0)
        m = classification_metrics(truth[ids], [classes[j] for j in p.argmax(1)], classes)
        out[kind] = dict(accuracy=m["accuracy"], macro_f1=m["macro_f1"], balanced_accuracy=m["balanced_accuracy"],
                         per_class={c: round(v["f1"], 3) for c, v in m["per_class"].items()}, n=m["n"],
                         wrong_in_every_member=sum(all(classes[int(np.argmax(r[kind][i]))] != truth[i] for r in saved) for i in ids))
    return out

def summarise(runs):
    keys = ["accuracy", "macro_f1", "balanced_accuracy", "accuracy_tta", "macro_f1_tta", "train_minutes"]
    return {k: dict(mean=round(float(np.mean([r[k] for r in runs])), 4), std=round(float(np.std([r[k] for r in runs])), 4)) for k in keys}

def parse_set(items):
    out = {}
    for it in items or []:
        k, v = it.split("=", 1)
        try: out[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError): out[k] = v
    return out

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--crossvalid", action="store_true", help="5-fold cross-validation files, scored on crossvalid_test")
    ap.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--set", nargs="*", help="train() overrides, e.g. epochs=8 center_crop=0.5 imbalance=focal")
    ap.add_argument("--tag", default="")
    ap.add_argument("--train-fraction", type=float, default=1.0, help="train on this stratified fraction of the train rows (learning curve; valid/test unchanged)")
    ap.add_argument("--ensemble", metavar="TAG", nargs="+", help="score the saved runs of TAG (or of several tags of one mode) as one ensemble (no training)")
    a = ap.parse_args()
    if a.ensemble:
        with results_lock():
            log = json.loads((RESULTS/"first_accuracy.json").read_text())
            src = [e for e in log if e["tag"] in a.ensemble and not e["mode"].endswith("-ensemble")]
            modes = {e["mode"] for e in src}
            if len(modes) != 1: raise SystemExit(f"--ensemble {' '.join(a.ensemble)}: the tags must be runs of one mode, found {sorted(modes) or 'none'}")
            mode, one = src[-1]["mode"], len(a.ensemble) == 1
            configs = {e["tag"]: e["config"] for e in src}   # the last run of each tag
            entry = dict(tag="+".join(a.ensemble), mode=f"{mode}-ensemble", config=src[-1]["config"] if one else configs,
                         command="python benchmarks/bench_first_accuracy.py " + " ".join(os.sys.argv[1:]),
                         date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                         individual=src[-1].get("tag_summary") if one else None, ensemble=ensemble(a.ensemble, mode))
            (RESULTS/"first_accuracy.json").write_text(json.dumps(log + [entry], indent=1))
            print(json.dumps(entry["ensemble"])); raise SystemExit
    overrides = parse_set(a.set)
    runs = []
    with tempfile.TemporaryDirectory() as work:
        if a.crossvalid:
            test_store = first_store("crossvalid_test")
            for k in a.folds:
                for s in a.seeds:
                    r = one_run(first_store(f"crossvalid_{k}"), test_store, a.profile, s, overrides, work, a.train_fraction)
                    runs.append(dict(r, fold=k)); save_probs(a.tag, runs[-1]); print(json.dumps(runs[-1]), flush=True)
        else:
            st = first_store("literature")
            for s in a.seeds:
                runs.append(one_run(st, st, a.profile, s, overrides, work, a.train_fraction)); save_probs(a.tag, runs[-1]); print(json.dumps(runs[-1]), flush=True)
    cfg = TrainConfig.for_profile(a.profile, **overrides).to_dict()
    entry = dict(tag=a.tag, mode="crossvalid" if a.crossvalid else "literature", profile=a.profile, overrides=overrides,
                 config={k: cfg.get(k) for k in ("arch", "image_size", "center_crop", "channels", "batch_size", "epochs", "lr", "imbalance", "wd", "augment")} | ({"train_fraction": a.train_fraction} if a.train_fraction != 1 else {})
                        | ({"opt": cfg["opt"]} if cfg.get("opt", "adam") != "adam" else {}),   # older entries: fastai's Adam
                 command="python benchmarks/bench_first_accuracy.py " + " ".join(os.sys.argv[1:]),
                 machine=machine(),
                 date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                 summary=summarise(runs), runs=runs)
    with results_lock():   # parallel processes (folds, seeds) append one at a time
        f = RESULTS/"first_accuracy.json"
        log = json.loads(f.read_text()) if f.exists() else []
        # runs of one tag may come from several invocations (e.g. --seeds 0, later --seeds 1 2): summarise them all
        same = [e for e in log if e["tag"] == a.tag and e["mode"] == entry["mode"] and e["config"] == entry["config"]] if a.tag else []
        all_runs = [r for e in same for r in e["runs"]] + runs
        entry["tag_summary"] = dict(n=len(all_runs), **summarise(all_runs))
        f.write_text(json.dumps(log + [entry], indent=1))
        s = entry["tag_summary"]; c = entry["config"]; runs = all_runs
        md = RESULTS/"first_accuracy.md"
        if not md.exists():
            md.write_text("| tag | mode | arch | px | crop | epochs | lr | imbalance | augment | n | test acc | macro-F1 | acc (D4 TTA) | macro-F1 (TTA) | min/run | channels | wd |\n"
                          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        pm = lambda k: f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}"
        with md.open("a") as fh:
            fh.write(f"| {a.tag} | {entry['mode']} | {c['arch']} | {c['image_size']} | {c['center_crop']} | {c['epochs']} | {c['lr']} | "
                     f"{c['imbalance']} | {c.get('augment') or 'd4'} | {len(runs)} | {pm('accuracy')} | {pm('macro_f1')} | {pm('accuracy_tta')} | {pm('macro_f1_tta')} | "
                     f"{s['train_minutes']['mean']:.1f} | {c.get('channels') or 'rgb'} | {c.get('wd') or 0.01} |\n")
    print(json.dumps(entry["tag_summary"]))
