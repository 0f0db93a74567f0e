"""What the caption encoder sees: factual accuracy of its own vote predictions, without the LSTM.

The captioner's encoder is pretrained to predict the 37 Galaxy Zoo vote fractions of each image. This script
trains it the same way (`pretrain_encoder`, same profile sizes), predicts the vote fractions of the test
images (mean over the 8 D4 views), turns them into caption attributes with the same `vote_attributes` the
templater uses, and scores those against the render truth. The result is the factual accuracy a perfect
decoder could reach with this encoder; the gap to the LSTM's captions says whether the decoder or the
encoder is the bottleneck. The test images' simulated votes are scored the same way (the reference).

    python benchmarks/bench_caption_encoder.py --store /tmp/cm-bench-cap-XXXX      # a split synthetic store
    python benchmarks/bench_caption_encoder.py --n 1000 --size 96 --epochs 8
"""
import argparse, json, os, platform, sys, tempfile, time
from datetime import datetime, timezone
from pathlib import Path
import torch

from cosmic_morph.manifest import load_manifest
from cosmic_morph.synthetic.ingest import ingest_synthetic
from cosmic_morph.synthetic.truth import ARMS, WINDINGS, BULGES
from cosmic_morph.synthetic.captions import vote_attributes, truth_attributes, _winner
from cosmic_morph.split import split_store
from cosmic_morph.data.images import channel_stats, image_cache
from cosmic_morph.inference import d4_views
from cosmic_morph.config import CaptionConfig
from cosmic_morph.captioning.metrics import factual_scores
from cosmic_morph.captioning.encoder import encoder_from_spec, spec_images, normalise
from cosmic_morph.captioning.pretrain import pretrain_encoder, VoteLoss
from cosmic_morph.captioning.training import caption_rows

@torch.no_grad()
def predicted_votes(encoder, head, spec, store, rows, columns, vote_loss="questions", batch_size=64) -> list:
    "Vote fractions predicted for `rows` (softmax per question, or sigmoid for bce; mean over the 8 D4 views), as dicts."
    out, to_frac = [], VoteLoss(columns).fractions if vote_loss == "questions" else torch.sigmoid
    for b in range(0, len(rows), batch_size):
        x = normalise(spec_images(store, list(rows["uri"].iloc[b:b + batch_size]), spec), spec["mean"], spec["std"])
        p = torch.stack([to_frac(head(encoder.forward_features(v).mean((-2, -1)))) for v in d4_views(x)]).mean(0)
        out += [dict(zip(columns, r.tolist())) for r in p]
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu"); ap.add_argument("--store", default="")
    ap.add_argument("--n", type=int, default=None); ap.add_argument("--size", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None, help="encoder pretraining epochs (default: the profile's)")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--vote-loss", default="questions", choices=["questions", "bce"])
    ap.add_argument("--out", default=str(Path(__file__).parent/"results"/"caption_encoder.json"))
    a = ap.parse_args(argv)
    if a.threads: torch.set_num_threads(a.threads)
    cfg = CaptionConfig.for_profile(a.profile, n_images=a.n, image_size=a.size, encoder_epochs=a.epochs)
    store = a.store or tempfile.mkdtemp(prefix="cm-bench-capenc-")
    if not a.store:
        ingest_synthetic(store, n=cfg.n_images, seed=a.seed, size=cfg.image_size); split_store(store, seed=a.seed)
    m = load_manifest(store)
    tr, te = caption_rows(m, "train"), caption_rows(m, "test")
    columns = [c for c in tr.columns if c.startswith("vote_") and tr[c].notna().any()]   # the order `pretrain_encoder` learns
    t0 = time.time()
    enc, spec = encoder_from_spec(cfg.encoder, cfg.image_size)
    take = tr.sample(min(256, len(tr)), random_state=a.seed)
    spec["mean"], spec["std"] = channel_stats(image_cache(store, take, spec["image_size"], progress=False))
    losses, head = pretrain_encoder(enc, spec, store, tr, cfg.encoder_epochs, lr=cfg.lr, seed=a.seed, device="cpu", return_head=True, vote_loss=a.vote_loss)
    t_train = time.time() - t0
    truth = [truth_attributes(x) for x in te["meta"]]
    pv = predicted_votes(enc, head, spec, store, te, columns, a.vote_loss)
    pred = [vote_attributes(v) for v in pv]
    # discrimination, whatever the confidence: the most voted answer of each spiral question vs the truth, on true spirals
    spirals = [i for i, t in enumerate(truth) if t["arms"] is not None]
    top = dict(arms=("t11", ARMS + ["cant_tell"]), winding=("t10", WINDINGS), bulge=("t05", BULGES), bar=("t03", [True, False]))
    argmax = lambda votes: {k: sum(_winner(votes[i], task, vals, min_frac=0) == truth[i][k] for i in spirals) / max(len(spirals), 1)
                            for k, (task, vals) in top.items()}
    sim = [{c: r[c] for c in columns} for _, r in te.iterrows()]
    argmax_acc, sim_argmax = argmax(pv), argmax(sim)      # the simulated votes' own arg-max is the attainable ceiling
    ref = [vote_attributes(v) for v in sim]
    res = dict(command=" ".join(["python benchmarks/bench_caption_encoder.py"] + list(sys.argv[1:] if argv is None else argv)),
               machine=dict(description="2-core CPU, 24 GiB, no GPU", cpu_count=os.cpu_count(), threads=torch.get_num_threads(),
                            platform=platform.platform(), torch=torch.__version__),
               date=datetime.now(timezone.utc).isoformat(timespec="seconds"), profile=dict(cfg.to_dict(), profile=a.profile),
               seed=a.seed,
               n=dict(train=len(tr), test=len(te)), pretrain_losses=losses, train_seconds=round(t_train, 1),
               vote_loss=a.vote_loss,
               encoder_votes=factual_scores(pred, truth), simulated_votes=factual_scores(ref, truth),
               encoder_argmax_on_spirals=dict(n=len(spirals), **argmax_acc), simulated_argmax_on_spirals=dict(n=len(spirals), **sim_argmax))
    out = Path(a.out); log = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps(log + [res], indent=1))
    show = lambda d: {k: round(v, 3) for k, v in d.items() if v is not None and k.endswith("accuracy")}
    print("encoder votes  ", show(res["encoder_votes"])); print("simulated votes", show(res["simulated_votes"]))
    print("argmax on spirals", res["encoder_argmax_on_spirals"], "simulated votes:", res["simulated_argmax_on_spirals"])

if __name__ == "__main__":
    main()
