"""Captioning: metrics against hand-computed values, the captions JSONL reader, the feature cache, decoding
properties (batching, beam width 1 = greedy, learning a toy task), save/load, and captioning files on disk."""
import json, math
from pathlib import Path
import numpy as np, pytest, torch
from PIL import Image
from safetensors.torch import load_file

from cosmic_morph.config import CaptionConfig
from cosmic_morph.captioning.vocab import Vocab, START, END, PAD
from cosmic_morph.captioning.metrics import (bleu_scores, diversity, evaluate_captions_file, CaptionFileError,
                                             factual_accuracy)
from cosmic_morph.captioning.encoder import compute_features, encoder_from_spec
from cosmic_morph.captioning.decoder import CaptionDecoder, decoder_loss, torch_threads
from cosmic_morph.captioning.decoding import greedy_decode, beam_decode, sample_decode
from cosmic_morph.captioning.model import load_captioner, CaptionerLoadError
from cosmic_morph.captioning.training import (train_captioner, caption_images, caption_split, caption_rows,
                                              vote_references)


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory):
    from cosmic_morph.synthetic.ingest import ingest_synthetic
    from cosmic_morph.split import split_store
    d = tmp_path_factory.mktemp("synth")/"store"
    ingest_synthetic(d, n=30, size=32, seed=1, progress=False)
    return d, split_store(d, seed=1)


@pytest.fixture(scope="module")
def tiny_captioner(synth_store, tmp_path_factory):
    store, m = synth_store
    out = tmp_path_factory.mktemp("cap")/"captioner"
    model = train_captioner(m, store, out, CaptionConfig.for_profile("smoke", epochs=1), seed=0, device="cpu",
                            progress=False)
    return model, out


def test_bleu_matches_hand_computation():
    b = bleu_scores([["The cat is on the mat."], ["a barred spiral"]], ["the cat sat on the mat.", "a barred spiral galaxy"])
    # unigrams: 6/7 + 3/4 clipped matches over 11 words; hyp length 11 vs closest ref lengths 7 + 3 = 10: no penalty
    assert b["bleu1"] == pytest.approx(9/11)
    # bigrams: (the cat, on the, the mat, mat .) 4/6 + (a barred, barred spiral) 2/3
    assert b["bleu2"] == pytest.approx(math.sqrt(9/11 * 6/9))
    short = bleu_scores([["a b c d e f"]], ["a b c"], max_n=1)
    assert short["bleu1"] == pytest.approx(math.exp(1 - 6/3))


def test_diversity_figures():
    d = diversity(["a ring.", "a ring.", "a ring.", "a bar.", "a lens.", "an arc."])
    assert d["unique_share"] == pytest.approx(4/6)
    assert d["top3_share"] == pytest.approx(5/6)
    assert d["distinct2"] == pytest.approx(len({("a", "ring"), ("ring", "."), ("a", "bar"), ("bar", "."), ("a", "lens"),
                                                 ("lens", "."), ("an", "arc"), ("arc", ".")}) / 12)


def test_evaluate_captions_file_and_bad_lines(tmp_path):
    p = tmp_path/"caps.jsonl"
    lines = [{"references": ["a spiral galaxy with two arms", "a spiral with two arms"], "hypothesis": "a spiral galaxy with two arms"},
             {"references": ["an elliptical galaxy"], "hypothesis": "an elliptical galaxy"}]
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    r = evaluate_captions_file(p)
    # nltk counts a hypothesis shorter than n as one unmatched n-gram (denominator max(1, ·)): 3 of 4 4-grams match
    assert r["n"] == 2 and r["bleu4"] == pytest.approx(0.75 ** 0.25) and r["bleu3"] == pytest.approx(1.0) and r["unique_share"] == 1.0 and r["smoothing"] is False
    p.write_text(json.dumps(lines[0]) + "\n" + "[1, 2]\n")
    with pytest.raises(CaptionFileError, match=r"caps.jsonl:2: expected a JSON object"): evaluate_captions_file(p)
    p.write_text(json.dumps(lines[0]) + "\n\n" + '{"references": ["a", 3], "hypothesis": "a"}\n')
    with pytest.raises(CaptionFileError, match=r"caps.jsonl:3: 'references' must be a non-empty list of strings"): evaluate_captions_file(p)
    p.write_bytes(b'{"references": ["\xff"], "hypothesis": "a"}\n')
    with pytest.raises(CaptionFileError, match="not UTF-8"): evaluate_captions_file(p)


def test_feature_cache_is_reused_and_extended(synth_store, tmp_path):
    store, m = synth_store
    enc, spec = encoder_from_spec("resnet10t", 32)
    spec.update(mean=[0.1]*3, std=[0.2]*3)
    first = compute_features(enc, spec, store, m.head(3), grid=2, views=2, cache_dir=tmp_path, device="cpu", progress=False)
    calls = []
    orig = enc.forward_features
    enc.forward_features = lambda x: (calls.append(len(x)), orig(x))[1]
    again = compute_features(enc, spec, store, m.head(3), grid=2, views=2, cache_dir=tmp_path, device="cpu", progress=False)
    assert calls == [] and torch.equal(again, first)              # all three came from the file
    more = compute_features(enc, spec, store, m.head(5), grid=2, views=2, cache_dir=tmp_path, device="cpu", progress=False)
    assert calls == [2, 2] and torch.equal(more[:3], first)       # only the two new images, once per view
    assert len(list(tmp_path.glob("features-*.safetensors"))) == 1


def _toy_task(seed=0):
    "Two captions, each tied to one of two random feature grids."
    torch.manual_seed(seed)
    vocab = Vocab.build(["a spiral with two tight arms.", "a round smooth elliptical galaxy."])
    feats = torch.randn(2, 4, 16)
    tokens = torch.full((2, 9), PAD)
    for i, c in enumerate(["a spiral with two tight arms.", "a round smooth elliptical galaxy."]):
        ids = vocab.encode(c); tokens[i, :len(ids)] = torch.tensor(ids)
    return vocab, feats, tokens


@pytest.mark.parametrize("attention,votes", [(True, False), (False, False), (True, True)])
def test_decoder_learns_a_toy_task_and_decoders_agree(attention, votes):
    vocab, feats, tokens = _toy_task()
    dec = CaptionDecoder(len(vocab), 16, embed_dim=16, hidden_dim=32, attention=attention, attn_dim=16, dropout=0.0,
                         vote_groups=[[0, 1, 2], [3, 4]] if votes else None, vote_dim=8)
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    with torch_threads(1):
        for _ in range(150):
            loss = decoder_loss(dec, feats, tokens, sample_prob=0.25); opt.zero_grad(); loss.backward(); opt.step()
    dec.eval()
    want = ["a spiral with two tight arms.", "a round smooth elliptical galaxy."]
    assert [vocab.decode(r) for r in greedy_decode(dec, feats)] == want
    assert [vocab.decode(r) for r in beam_decode(dec, feats, width=3)] == want
    assert [vocab.decode(r) for r in sample_decode(dec, feats, top_p=0.5, seed=0)] == want   # a peaked model: the nucleus is one word
    # beam width 1 without length normalisation is greedy; a batch decodes like its items one by one
    noisy = feats.repeat(3, 1, 1) + 0.8 * torch.randn(6, 4, 16)
    assert [vocab.decode(r) for r in beam_decode(dec, noisy, width=1, alpha=0.0)] == [vocab.decode(r) for r in greedy_decode(dec, noisy)]
    batch = beam_decode(dec, noisy, width=3)
    for i in range(6):
        one = beam_decode(dec, noisy[i:i+1], width=3)[0]
        assert vocab.decode(one) == vocab.decode(batch[i])


def test_train_save_load_and_caption_files(tiny_captioner, synth_store, tmp_path):
    model, out = tiny_captioner
    store, m = synth_store
    cfg = json.loads((out/"config.json").read_text())
    assert cfg["kind"] == "captioner" and cfg["vocab"][:4] == ["<pad>", "<unk>", "<start>", "<end>"]
    assert cfg["encoder"]["image_size"] == 32 and len(cfg["encoder"]["mean"]) == 3 and len(cfg["training"]["history"]) == 1
    assert CaptionConfig.from_dict(cfg["training"]["profile"]) == CaptionConfig.for_profile("smoke", epochs=1)
    assert cfg["decoder"]["vote_groups"] and sum(map(len, cfg["decoder"]["vote_groups"])) == len(model.decoder.vote_head.bias)
    assert torch.equal(model.decoder.vote_head.weight.cpu(), load_file(str(out/"model.safetensors"))["decoder.vote_head.weight"])
    # the pretraining head is kept for method "votes" (the conditioned decoder holds the same weights, frozen)
    assert len(cfg["votes"]["columns"]) == len(model.vote_head.bias) and cfg["votes"]["loss"] == "questions"
    assert torch.equal(model.vote_head.weight.cpu(), model.decoder.vote_head.weight.cpu())
    loaded = load_captioner(out, device="cpu")
    rows = caption_rows(m, "test")
    from cosmic_morph.synthetic.captions import parse_caption
    assert all(parse_caption(c)["class"] is not None for c in caption_split(loaded, store, rows, "votes", progress=False))
    for method in ("greedy", "beam", "sample", "votes"):
        assert caption_split(loaded, store, rows, method, progress=False) == caption_split(model.cpu(), store, rows, method, progress=False)
    from cosmic_morph.manifest import ImageStore
    good = tmp_path/"galaxy.png"; good.write_bytes(ImageStore(store).read_bytes(rows["uri"].iloc[0]))
    Image.open(good).convert("RGBA").save(tmp_path/"galaxy_rgba.tif")
    (tmp_path/"broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    res = caption_images(out, [good, tmp_path/"galaxy_rgba.tif", tmp_path/"broken.png", tmp_path/"missing.png"], method="beam", device="cpu")
    assert [sorted(r) for r in res] == [["caption", "path"]]*2 + [["error", "path"]]*2
    assert res[0]["caption"] == res[1]["caption"]                    # same pixels, other container
    assert "broken.png: not a readable image" in res[2]["error"] and res[3]["error"].endswith("missing.png: no such file")
    with pytest.raises(ValueError, match="unknown decoding method 'topk'"): caption_images(out, [good], method="topk", device="cpu")


@pytest.fixture(scope="module")
def gz5_classifier(tmp_path_factory):
    "An untrained Galaxy Zoo 5-class classifier folder: what it answers does not matter, only that captions follow it."
    from cosmic_morph.models.core import create_model, save_model
    from cosmic_morph.ingest.gz_votes import GZ5_CLASSES
    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("gz5")/"model"
    save_model(create_model("resnet10t", 5, verbose=False), out,
               dict(arch="resnet10t", classes=GZ5_CLASSES, image_size=32, mean=[0.5]*3, std=[0.25]*3, taxonomy="gz5"))
    return out


def test_votes_captions_name_the_classifiers_class(tiny_captioner, synth_store, gz5_classifier, smoke_learner, tmp_path):
    from cosmic_morph.captioning.training import classifier_labels
    from cosmic_morph.ingest.gz_votes import GZ5_CLASSES
    from cosmic_morph.inference import predict
    from cosmic_morph.manifest import ImageStore
    from cosmic_morph.models.core import load_model
    from cosmic_morph.synthetic.captions import parse_caption
    model, out = tiny_captioner
    store, m = synth_store
    rows = caption_rows(m, "test")
    # any class a caller gives is the class the caption names, batch by batch
    given = [GZ5_CLASSES[i % 5] for i in range(len(rows))]
    caps = caption_split(model, store, rows, "votes", batch_size=2, progress=False, labels=given)
    assert [parse_caption(c)["class"] for c in caps] == given
    with pytest.raises(ValueError, match="1 labels for"): caption_split(model, store, rows, "votes", labels=given[:1])
    with pytest.raises(ValueError, match="method 'votes' only, not 'beam'"): caption_split(model, store, rows, "beam", labels=given)
    # the classifier's classes: those `predict` gives for the same images (D4-averaged)
    labels = classifier_labels(gz5_classifier, store, rows, progress=False, device="cpu")
    files = []
    for i, uri in enumerate(rows["uri"]):
        files.append(tmp_path/f"g{i}.png"); files[-1].write_bytes(ImageStore(store).read_bytes(uri))
    assert labels == [r["label"] for r in predict(load_model(gz5_classifier, "cpu"), files, tta=True)]
    assert set(labels) <= set(GZ5_CLASSES)
    res = caption_images(out, files + [tmp_path/"missing.png"], method="votes", device="cpu", classifier=gz5_classifier)
    assert [r.get("label") for r in res[:-1]] == labels and "missing.png" in res[-1]["error"]
    assert [parse_caption(r["caption"])["class"] for r in res[:-1]] == labels
    with pytest.raises(ValueError, match="method 'votes' only"): caption_images(out, files, method="greedy", classifier=gz5_classifier)
    _, first_dir = smoke_learner                          # a FIRST classifier's classes are not a galaxy's morphology
    with pytest.raises(ValueError, match=r"are not Galaxy Zoo 5-class names"):
        classifier_labels(first_dir, store, rows, progress=False, device="cpu")


def test_caption_cli_goes_on_past_bad_files(tiny_captioner, synth_store, gz5_classifier, tmp_path):
    import subprocess
    from conftest import CLI
    from cosmic_morph.manifest import ImageStore
    _, out = tiny_captioner
    store, m = synth_store
    good = tmp_path/"g.png"; good.write_bytes(ImageStore(store).read_bytes(caption_rows(m, "test")["uri"].iloc[0]))
    (tmp_path/"empty.png").write_bytes(b"")
    r = subprocess.run([CLI, "caption", "--model", str(out), str(good), str(tmp_path/"empty.png"), "--method", "greedy"],
                       capture_output=True, text=True, timeout=300)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert r.returncode == 1 and [("caption" in l) for l in lines] == [True, False]
    assert isinstance(lines[0]["caption"], str) and lines[0]["caption"].strip() and "Traceback" not in r.stderr   # a 1-epoch model: words, not sense
    assert r.stderr.strip() == "cosmic-morph caption: 1 of 2 image(s) failed"
    r = subprocess.run([CLI, "caption", "--model", str(out), str(good), "--method", "votes"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and json.loads(r.stdout)["caption"].endswith(".")   # the templater's sentences
    r = subprocess.run([CLI, "caption", "--model", str(out), str(good), "--method", "votes", "--classifier", str(gz5_classifier)],
                       capture_output=True, text=True, timeout=300)
    from cosmic_morph.synthetic.captions import parse_caption
    line = json.loads(r.stdout)
    assert r.returncode == 0 and parse_caption(line["caption"])["class"] == line["label"]   # the classifier's class


def test_load_errors_name_the_folder(tmp_path, smoke_learner):
    with pytest.raises(CaptionerLoadError, match="not a caption model folder"): load_captioner(tmp_path)
    _, clf_dir = smoke_learner
    with pytest.raises(CaptionerLoadError, match="does not describe a caption model"): load_captioner(clf_dir)


def test_encoder_from_classifier_folder(smoke_learner):
    learn, clf_dir = smoke_learner
    enc, spec = encoder_from_spec(str(clf_dir))
    cfg = json.loads((Path(clf_dir)/"config.json").read_text())
    assert spec["arch"] == cfg["arch"] and spec["image_size"] == cfg["image_size"] and spec["mean"] == cfg["mean"]
    body = learn.model[0].cpu().eval(); enc.eval()
    x = torch.randn(2, 3, 32, 32)
    assert torch.allclose(enc.forward_features(x), body.forward_features(x), atol=1e-5)


def test_factual_accuracy_tells_true_captions_from_shuffled(synth_store):
    store, m = synth_store
    rows = m[m.caption.notna()].reset_index(drop=True)
    refs = vote_references(rows, n_refs=3, seed=0)
    assert all(len(v) == 3 for v in refs.values()) and list(refs) == list(rows.image_id)
    assert sum(len(set(v)) >= 2 for v in refs.values()) >= 0.8 * len(refs)   # other phrasings (a few plans can coincide)
    true = factual_accuracy(list(rows.caption), rows)
    shuffled = factual_accuracy(list(np.roll(rows.caption.to_numpy(), 1)), rows)   # neighbours have another truth class
    assert true["factual_accuracy"] > 0.8 and true["class_accuracy"] > shuffled["class_accuracy"] + 0.3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_decoding_matches_cpu():
    vocab, feats, tokens = _toy_task()
    dec = CaptionDecoder(len(vocab), 16, embed_dim=16, hidden_dim=32, attn_dim=16, dropout=0.0).eval()
    for f in (greedy_decode, beam_decode):
        assert torch.equal(f(dec, feats).cpu(), f(dec.cuda(), feats.cuda()).cpu()); dec.cpu()
