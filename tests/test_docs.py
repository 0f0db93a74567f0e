"""The README is generated from nbs/index.ipynb, stays short, and its headline numbers are the measured ones."""
import json, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
from make_readme import readme_text

README = (ROOT/"README.md").read_text()

def test_readme_is_generated_from_index():
    assert README == readme_text(ROOT/"nbs"/"index.ipynb"), "README.md differs from nbs/index.ipynb: run `make readme`"

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
    cpu = json.loads((ROOT/"benchmarks/results/pipeline_cpu_2026-12-01.json").read_text())
    timed = json.loads((ROOT/"benchmarks/results/pipeline_cpu_2026-11-23.json").read_text())   # the last quiet machine
    gpu = json.loads((ROOT/"benchmarks/results/gpu_profile_2026-11-23.json").read_text())["headline"]
    dec = cpu["caption_metrics"]["decoding"]
    secs = timed["wall_seconds_make_run"]
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
    real = [r for r in json.loads((ROOT/"benchmarks/results/real_galaxies.json").read_text())["results"]
            if r["variant"] == "real_noweights"]   # what `make run GZ2=…` trains: GZ2 galaxies, D4 CNN, no class weights
    shown |= {f"{sum(r['accuracy'] for r in real)/len(real):.3f} / {sum(r['macro_f1'] for r in real)/len(real):.3f}",
              f"n={real[0]['n']}"}
    missing = [s for s in shown if s not in README]
    assert missing == [], f"README headline numbers differ from the JSON: {missing}"

def _nb(path:Path, outputs=False):
    cell = dict(cell_type="code", source=["1+1"], metadata={}, execution_count=None,
                outputs=[dict(output_type="stream", name="stdout", text="2\n")] if outputs else [])
    path.write_text(json.dumps(dict(cells=[cell], metadata={}, nbformat=4, nbformat_minor=5)))

def test_docs_take_executed_chapters_from_the_newest_run(tmp_path):
    from build_docs import chapter_sources, latest_run
    nbs = tmp_path/"nbs"; nbs.mkdir()
    for n in ["00_a", "05_eda", "07_train", "index", "_scratch"]: _nb(nbs/f"{n}.ipynb")
    assert latest_run(tmp_path/"runs") is None
    old, new = tmp_path/"runs"/"old"/"notebooks", tmp_path/"runs"/"new"/"notebooks"
    old.mkdir(parents=True); new.mkdir(parents=True)
    _nb(old/"05_eda.ipynb", outputs=True); _nb(new/"07_train.ipynb", outputs=True)
    _nb(new/"07_train-gz5.ipynb", outputs=True); _nb(new/"05_eda.ipynb")           # not executed: the clean one is used
    import os, time; t = time.time(); os.utime(old/"05_eda.ipynb", (t - 60, t - 60))
    run = latest_run(tmp_path/"runs")
    assert run == tmp_path/"runs"/"new"
    pages = chapter_sources(nbs, run)
    assert [n for n, _ in pages] == ["00_a", "05_eda", "07_train", "07_train-gz5"]
    assert dict(pages)["07_train"] == new/"07_train.ipynb" and dict(pages)["05_eda"] == nbs/"05_eda.ipynb"
    assert [n for n, _ in chapter_sources(nbs, None)] == ["00_a", "05_eda", "07_train"]

def test_docs_home_links_point_at_the_repository():
    from build_docs import index_markdown
    home = index_markdown("https://example.org/r")
    assert "](https://example.org/r/blob/main/data/README.md)" in home
    assert "[cpu]: https://example.org/r/blob/main/benchmarks/results/pipeline_cpu_2026-12-01.json" in home
    assert not home.startswith("<!--")

def test_docs_staging_hides_nbdev_directive_cells(tmp_path):
    from build_docs import stage_notebook
    cells = [dict(cell_type="code", source=[s], metadata={}, outputs=[], execution_count=None)
             for s in ["#| default_exp x", "#| hide\nimport a", "#| export\ndef f(): pass", "f()"]]
    src = tmp_path/"a.ipynb"; src.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    stage_notebook(src, tmp_path/"b.ipynb")
    kept = ["".join(c["source"]) for c in json.loads((tmp_path/"b.ipynb").read_text())["cells"]]
    assert kept == ["#| export\ndef f(): pass", "f()"]

def test_docs_show_a_runs_saved_figures_when_the_notebook_has_none(tmp_path):
    from build_docs import add_run_figures
    run, docs = tmp_path/"runs"/"r1", tmp_path/"docs"
    (run/"eda").mkdir(parents=True); docs.mkdir()
    for f in ["eda/samples.png", "eda/class_counts.png", "confusion.png", "synthetic_samples.png"]:
        (run/f).write_bytes(b"\x89PNG fake")
    (run/"not_an_image.png").write_text("the CLI chapter's bad input")
    _nb(docs/"05_eda.ipynb", outputs=True); _nb(docs/"08b_evaluate.ipynb")
    assert add_run_figures(docs/"05_eda.ipynb", "05_eda", run, docs) == 2   # no image among its outputs
    assert add_run_figures(docs/"08b_evaluate.ipynb", "08b_evaluate", run, docs) == 1   # not the synthetic chapter's
    assert (docs/"figures"/"05_eda"/"samples.png").exists()
    last = "".join(json.loads((docs/"08b_evaluate.ipynb").read_text())["cells"][-1]["source"])
    assert "](figures/08b_evaluate/confusion.png)" in last
    _nb(docs/"06_split.ipynb"); assert add_run_figures(docs/"06_split.ipynb", "06_split", run, docs) == 0
