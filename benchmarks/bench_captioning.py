"""Captioning benchmark: greedy vs beam vs nucleus vs vote-head decoding of one model on synthetic GZ-style galaxies.

Reports BLEU-1..4 (nltk corpus_bleu, no smoothing), diversity, factual accuracy against the render truth,
training time per stage, and (with several --encoder-epochs values) how much pretraining the encoder on the
vote fractions helps compared with a frozen random-init encoder.

    python benchmarks/bench_captioning.py                          # cpu profile, n=800 at 64 px, seed 0
    python benchmarks/bench_captioning.py --encoder-epochs 0 6     # frozen random encoder vs vote-pretrained
"""
import argparse, dataclasses, json, os, platform, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import numpy as np, torch

from cosmic_morph.synthetic.ingest import ingest_synthetic
from cosmic_morph.split import split_store
from cosmic_morph.config import CaptionConfig
from cosmic_morph.captioning.metrics import evaluate_captions, factual_accuracy, factual_scores, FACT_ATTRIBUTES
from cosmic_morph.captioning.training import (train_captioner, caption_rows, caption_split, vote_references,
                                              reference_lists)

def facts_per_image(hyps, rows):
    "Per caption: how many attributes it asserts and how many of those are true (the micro-average's numerator and denominator)."
    from cosmic_morph.synthetic.captions import parse_caption, truth_attributes
    said, right = [], []
    for h, meta in zip(hyps, rows["meta"]):
        f = factual_scores([parse_caption(h)], [truth_attributes(meta)])
        acc = [f[f"{k}_accuracy"] for k in FACT_ATTRIBUTES]          # one caption: None (not asserted), 0 or 1
        said.append(sum(x is not None for x in acc)); right.append(sum(x for x in acc if x is not None))
    return np.array(said), np.array(right)

def bootstrap_factual(per_method:dict, n_boot:int=2000, seed:int=0) -> dict:
    "95 % intervals of each method's factual accuracy and of its difference to beam search, resampling test images (paired)."
    rng = np.random.default_rng(seed); n = len(next(iter(per_method.values()))[0]); idx = rng.integers(0, n, (n_boot, n))
    acc = {m: right[idx].sum(1) / np.maximum(said[idx].sum(1), 1) for m, (said, right) in per_method.items()}
    ci = lambda x: [round(float(q), 4) for q in np.quantile(x, [0.025, 0.975])]
    out = {m: dict(ci95=ci(a)) for m, a in acc.items()}
    if "beam" in acc:
        for m in acc:
            if m != "beam": out[m]["minus_beam_ci95"] = ci(acc[m] - acc["beam"])
    return dict(n_boot=n_boot, images=n, methods=out)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--size", type=int, default=None, help="render and model image size (default: the profile's)")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--encoder-epochs", type=int, nargs="+", default=[None])
    ap.add_argument("--views", type=int, default=None); ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: every core)")
    ap.add_argument("--attention", type=int, default=1); ap.add_argument("--n-refs", type=int, default=5)
    ap.add_argument("--vote-loss", default="questions", choices=["questions", "bce"], help="encoder pretraining loss on the votes")
    ap.add_argument("--condition", type=int, default=None, help="1: the decoder sees the vote head's predicted fractions; 0: features only (default: the profile's)")
    ap.add_argument("--beam-width", type=int, default=3); ap.add_argument("--alpha", type=float, nargs="+", default=[0.7], help="beam length normalisation(s) to compare")
    ap.add_argument("--top-p", type=float, default=0.9); ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--store", default="", help="reuse a synthetic store (split) instead of rendering one")
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"captioning.json"))
    ap.add_argument("--captions-out", default="", help="also write every test caption here (JSONL: image_id, method, hypothesis, references)")
    a = ap.parse_args(argv)
    cfg = CaptionConfig.for_profile(a.profile, n_images=a.n, image_size=a.size, epochs=a.epochs, views=a.views,
                                    batch_size=a.batch_size, attention=bool(a.attention), vote_loss=a.vote_loss,
                                    condition=None if a.condition is None else bool(a.condition),
                                    decoder_threads=a.threads or 1)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    if a.threads: torch.set_num_threads(a.threads)
    res = dict(command=" ".join(["python benchmarks/bench_captioning.py"] + list(sys.argv[1:] if argv is None else argv)),
               machine=dict(description="2-core CPU, 24 GiB, no GPU" if not torch.cuda.is_available() else torch.cuda.get_device_name(),
                            cpu_count=os.cpu_count(), threads=torch.get_num_threads(), platform=platform.platform(), torch=torch.__version__),
               date=datetime.now(timezone.utc).isoformat(timespec="seconds"), profile=dict(cfg.to_dict(), profile=a.profile), seed=a.seed, n_refs=a.n_refs,
               decoding=dict(beam_width=a.beam_width, alpha=a.alpha, top_p=a.top_p, temperature=a.temperature), runs=[])
    store = a.store or tempfile.mkdtemp(prefix="cm-bench-cap-")
    t0 = time.time()
    if not a.store:
        ingest_synthetic(store, n=cfg.n_images, seed=a.seed, size=cfg.image_size)
        split_store(store, seed=a.seed)
    from cosmic_morph.manifest import load_manifest
    m = load_manifest(store); res["render_seconds"] = round(time.time() - t0, 1) if not a.store else None
    captioned = m[m["caption"].notna()]
    refs = vote_references(captioned, n_refs=a.n_refs, seed=a.seed)
    test = caption_rows(m, "test"); refs_test = reference_lists(test, refs)
    res["n"] = dict(train=int((m.split == "train").sum()), valid=int((m.split == "valid").sum()), test=len(test))
    ceiling = [r[0] for r in refs_test]
    res["reference"] = dict(**evaluate_captions([r[1:] for r in refs_test], ceiling),
                            **{k: v for k, v in factual_accuracy(ceiling, test).items() if v is not None})
    for ee in a.encoder_epochs:
        run_cfg = cfg if ee is None else dataclasses.replace(cfg, encoder_epochs=ee)
        model = train_captioner(m, store, None, run_cfg, refs=refs, seed=a.seed, device=dev)
        run = dict(encoder_epochs=model.config["encoder"]["pretrain_epochs"], attention=bool(a.attention), vote_loss=a.vote_loss,
                   condition=bool(model.config["decoder"].get("vote_groups")),
                   train_seconds=model.config["training"]["seconds"],
                   history=model.config["training"]["history"], methods={})
        per_image, lines = {}, []
        beams = [(f"beam" if len(a.alpha) == 1 else f"beam_alpha{al:g}", "beam", dict(beam_width=a.beam_width, alpha=al)) for al in a.alpha]
        for name, method, kw in [("greedy", "greedy", {}), *beams,
                                 ("sample", "sample", dict(top_p=a.top_p, temperature=a.temperature, seed=a.seed)),
                                 *([("votes", "votes", dict(seed=a.seed))] if model.vote_head is not None else [])]:
            t = time.time(); hyps = caption_split(model, store, test, method, **kw); secs = time.time() - t
            run["methods"][name] = dict(**evaluate_captions(refs_test, hyps),
                                          **{k: v for k, v in factual_accuracy(hyps, test).items() if v is not None},
                                          caption_seconds=round(secs, 2), examples=hyps[:5])
            per_image[name] = facts_per_image(hyps, test)
            said, right = per_image[name]
            if said.sum(): assert abs(right.sum() / said.sum() - run["methods"][name]["factual_accuracy"]) < 1e-9   # the same micro-average
            lines += [dict(image_id=i, method=name, hypothesis=h, references=r) for i, h, r in zip(test["image_id"], hyps, refs_test)]
            print(name, {k: round(v, 3) for k, v in run["methods"][name].items() if isinstance(v, float)}, file=sys.stderr)
        run["factual_bootstrap"] = bootstrap_factual(per_image, seed=a.seed)
        if a.captions_out: Path(a.captions_out).write_text("".join(json.dumps(l) + "\n" for l in lines))
        res["runs"].append(run)
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=2, default=float))
    res["total_seconds"] = round(time.time() - t0, 1)
    Path(a.out).write_text(json.dumps(res, indent=2, default=float))
    print(a.out)

if __name__ == "__main__": main()
