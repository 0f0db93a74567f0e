"""The README is generated from nbs/index.ipynb, stays short, and its headline numbers are the measured ones."""
import json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
from make_readme import readme_text

README = (ROOT/"README.md").read_text()

def test_readme_is_generated_from_index():
    assert README == readme_text(ROOT/"nbs"/"index.ipynb"), "README.md is out of step with nbs/index.ipynb: run `make readme`"

def test_make_readme_check_flags_a_difference(tmp_path):
    out = tmp_path/"README.md"; out.write_text("# stale\n")
    cmd = [sys.executable, str(ROOT/"tools"/"make_readme.py"), "--out", str(out)]
    assert subprocess.run(cmd + ["--check"], capture_output=True).returncode == 1
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    assert subprocess.run(cmd + ["--check"], capture_output=True).returncode == 0
    assert out.read_text() == README

def test_readme_is_a_front_door():
    assert len(README.encode()) < 10_000
    long = [i for i, l in enumerate(README.splitlines(), 1) if len(l) > 120]
    assert long == [], f"README lines over 120 characters: {long}"
    assert not re.search(r"(?i)\bissues? ?#?\d", README), "no issue numbers in the README"

def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#:]+)\)|^\[\w+\]: (\S+)$", README, flags=re.M):
        path = next(t for t in target if t)
        assert (ROOT/path).exists(), path

def test_headline_numbers_are_the_measured_ones():
    cpu = json.loads((ROOT/"benchmarks/results/pipeline_cpu_2026-11-23.json").read_text())
    gpu = json.loads((ROOT/"benchmarks/results/gpu_profile_2026-11-23.json").read_text())["headline"]
    dec = cpu["caption_metrics"]["decoding"]
    secs = cpu["wall_seconds_make_run"]
    shown = {
        f"{cpu['first_metrics']['accuracy']:.3f} / {cpu['first_metrics']['macro_f1']:.3f}",
        f"{cpu['gz5_metrics']['accuracy']:.3f} / {cpu['gz5_metrics']['macro_f1']:.3f}",
        f"{dec['greedy']['bleu4']:.3f} / {dec['beam']['bleu4']:.3f}",
        f"{secs//60} min {secs%60} s",
        f"{gpu['d4cnn_rotate_64ep_literature']['mean']:.3f} ± {gpu['d4cnn_rotate_64ep_literature']['std']:.3f}",
        f"{gpu['d4cnn_rotate_32ep_5fold']['mean']:.3f} ± {gpu['d4cnn_rotate_32ep_5fold']['std']:.3f}",
        f"{gpu['gpu_profile_literature']['mean']:.3f} ± {gpu['gpu_profile_literature']['std']:.3f}",
        f"n={cpu['first_metrics']['n']}", f"n={cpu['gz5_metrics']['n']}",
    }
    missing = [s for s in shown if s not in README]
    assert missing == [], f"README headline numbers differ from the JSON: {missing}"
