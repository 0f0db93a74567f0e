"""Evaluation end to end: metrics JSON, figures, calibration written back to the model, TTA, the label-noise audit."""
import json, shutil, subprocess
import numpy as np, pandas as pd
from conftest import CLI
from cosmic_morph.manifest import load_manifest

def run(*args):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=600)

def test_evaluate_model_files_calibration_and_tta(first_store, smoke_learner, tmp_path):
    from cosmic_morph.evaluate import evaluate_model, expected_calibration_error
    from cosmic_morph.models.core import load_model
    _, model = smoke_learner
    md = tmp_path/"model"; shutil.copytree(model, md)      # the shared smoke model must stay uncalibrated
    m = load_manifest(first_store)
    res = evaluate_model(md, m, first_store, out=tmp_path/"eval", progress=False)
    for f in ("metrics.json", "predictions.csv", "confusion.png", "reliability.png", "gradcam.png"):
        assert (tmp_path/"eval"/f).stat().st_size > 100, f
    assert json.loads((tmp_path/"eval"/"metrics.json").read_text()) == json.loads(json.dumps(res))
    for k in ("accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "ece", "ece_calibrated", "nll", "nll_calibrated"):
        assert 0 <= res[k] <= (10 if k.startswith("nll") else 1), k
    assert res["calibration"]["fitted_on"] == "valid" and res["calibration"]["n_valid"] > 0
    assert res["calibration"]["valid_nll_calibrated"] <= res["calibration"]["valid_nll"] + 1e-6   # T minimises the valid NLL
    assert set(res["tta"]) >= {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "per_class", "ece", "nll"}
    # the temperature went into config.json, and loading the model picks it up
    assert json.loads((md/"config.json").read_text())["temperature"] == res["temperature"]
    assert load_model(md).config["temperature"] == res["temperature"]
    # predictions.csv holds the calibrated probabilities the metrics came from
    pc = pd.read_csv(tmp_path/"eval"/"predictions.csv"); classes = load_model(md).config["classes"]
    probs = pc[[f"p_{c}" for c in classes]].to_numpy(); y = pc.label.map(classes.index).to_numpy()
    assert np.isclose(expected_calibration_error(probs, y), res["ece_calibrated"])
    assert np.isclose((pc.pred == pc.label).mean(), res["accuracy"]) and np.isclose((pc.pred_tta == pc.label).mean(), res["tta"]["accuracy"])
    assert len(pc) == res["n"] == ((m.split == "test") & m.label.notna()).sum()

def test_cli_evaluate_json(first_store, smoke_learner, tmp_path):
    _, shared = smoke_learner
    model = tmp_path/"model"; shutil.copytree(shared, model)   # evaluate saves the fitted temperature into the model
    r = run("evaluate", "--store", first_store, "--model", model, "--out", tmp_path/"eval", "--tta")
    assert r.returncode == 0, r.stderr
    assert json.loads((model/"config.json").read_text())["temperature"] == json.loads(r.stdout.splitlines()[-1])["temperature"]
    assert "temperature" not in json.loads((shared/"config.json").read_text())
    res = json.loads(r.stdout.splitlines()[-1])
    assert {"accuracy", "balanced_accuracy", "macro_f1", "weighted_f1", "per_class", "ece", "ece_calibrated",
            "temperature", "tta"} <= set(res)
    assert res["tta"]["views"] == 8
    assert (tmp_path/"eval"/"reliability.png").exists() and (tmp_path/"eval"/"gradcam.png").exists()

def test_label_noise_audit(first_store, tmp_path):
    from cosmic_morph.evaluate import label_noise_audit
    m = load_manifest(first_store)
    df = label_noise_audit(m, first_store, profile="smoke", k=2, seed=0, out_dir=tmp_path, taxonomy="first4", progress=False,
                           batch_size=4)   # 6 training images per fold
    train = m[(m.split == "train") & m.label.notna()]
    assert sorted(df.image_id) == sorted(train.image_id)
    assert list(df.columns) == ["image_id", "label", "suggested", "self_confidence", "suggested_confidence", "label_issue"]
    assert df.self_confidence.between(0, 1).all() and (df.suggested_confidence >= df.self_confidence - 1e-9).all()
    assert dict(zip(df.image_id, df.label)) == dict(zip(train.image_id, train.label))
    flagged = df[df.label_issue]; rest = df[~df.label_issue]
    assert list(df.label_issue) == [True] * len(flagged) + [False] * len(rest)      # flagged first, each part by self-confidence
    assert rest.self_confidence.is_monotonic_increasing and flagged.self_confidence.is_monotonic_increasing
    assert pd.read_csv(tmp_path/"label_issues.csv").image_id.tolist() == df.image_id.tolist()
    assert (tmp_path/"label_issues.png").stat().st_size > 1000
