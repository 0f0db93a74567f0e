"""Build the offline docs site into _docs/ with MkDocs: the chapters as executed by the latest run, figures included.

Where Quarto exists `make docs` runs nbdev-docs instead; this is the build for machines without it.
Usage: python tools/build_docs.py [--run runs/ID] [--out _docs] [--stage _docs_src]"""
import argparse, json, os, re, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
from make_readme import readme_text

def chapters(nbs:Path) -> list:
    "The chapter notebooks of `nbs` in reading order: numbered names, no index, no `_scratch`."
    return sorted(p for p in nbs.glob("[0-9]*.ipynb"))

def is_executed(nb_path:Path) -> bool:
    "Whether a notebook holds outputs (an executed run) rather than nbdev-clean's empty cells."
    cells = json.loads(nb_path.read_text()).get("cells", [])
    return any(c.get("outputs") for c in cells if c.get("cell_type") == "code")

def latest_run(runs:Path) -> Path|None:
    "The newest `runs/<id>/` whose `notebooks/` holds at least one executed notebook, or None."
    found = [d.parent for d in runs.glob("*/notebooks") if any(is_executed(p) for p in d.glob("*.ipynb"))]
    return max(found, key=lambda d: max(p.stat().st_mtime for p in (d/"notebooks").glob("*.ipynb")), default=None)

def chapter_sources(nbs:Path, run:Path|None) -> list:
    "(page name, notebook) per page: the run's executed copy of each chapter where it has one, variants after it."
    out = []
    for nb in chapters(nbs):
        done = run/"notebooks"/nb.name if run else None
        out.append((nb.stem, done if done and done.exists() and is_executed(done) else nb))
        if run: out += [(v.stem, v) for v in sorted((run/"notebooks").glob(f"{nb.stem}-*.ipynb")) if is_executed(v)]
    return out

HIDDEN = re.compile(r"^\s*#\s*\|\s*(hide|default_exp)\b")

def stage_notebook(src:Path, dest:Path):
    "Copy a notebook for the site without the cells nbdev's docs hide (`#| hide`, `#| default_exp`)."
    nb = json.loads(src.read_text())
    nb["cells"] = [c for c in nb["cells"] if not (c["cell_type"] == "code" and HIDDEN.match("".join(c["source"])))]
    dest.write_text(json.dumps(nb))

# Figures a run saves as files, by the chapter that draws them: shown on that chapter's page when the executed notebook
# holds fewer inline (a kernel started with MPLBACKEND=Agg keeps only IPython.display images in the notebook)
RUN_FIGURES = {"04e_synthetic": ["synthetic_*.png"], "05_eda": ["eda/*.png"], "06_split": ["split*.png"],
               "07g_train": ["model/*.png"], "08b_evaluate": ["*.png"], "07g_train-gz5": ["gz5/model/*.png"],
               "08b_evaluate-gz5": ["gz5/*.png"], "09h_captioning": ["captioning/*.png", "captioning/*/*.png"]}

def inline_images(nb:dict) -> int:
    "How many image outputs a notebook holds."
    return sum(any(k.startswith("image/") for k in o.get("data", {}))
               for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))

def add_run_figures(nb_path:Path, name:str, run:Path, docs:Path) -> int:
    "Append the figures `run` saved for chapter `name` to its page when it shows fewer inline; returns how many."
    nb = json.loads(nb_path.read_text())
    owned = {f for pats in RUN_FIGURES.values() for pat in pats if pat != "*.png" for f in run.glob(pat)}
    figs = sorted(f for pat in RUN_FIGURES.get(name, []) for f in run.glob(pat)
                  if (pat != "*.png" or f not in owned) and f.read_bytes()[:4] == b"\x89PNG")   # not the CLI's bad input
    if inline_images(nb) >= len(figs): return 0                  # drawn inline already (a run with the inline backend)
    (docs/"figures"/name).mkdir(parents=True, exist_ok=True)
    lines = ["## Figures saved by this run\n", "\n",
             f"The executed notebook holds fewer figures than it saved into `{run.name}/`; here are the files.\n", "\n"]
    for f in figs:
        shutil.copy(f, docs/"figures"/name/f.name)
        lines += [f"![{f.relative_to(run)}](figures/{name}/{f.name})\n", "\n"]
    nb["cells"].append(dict(cell_type="markdown", metadata={}, source=lines))
    nb_path.write_text(json.dumps(nb))
    return len(figs)

def execute(src:Path, dest:Path, cwd:Path, timeout=300):
    "Run a notebook top to bottom with nbconvert (cwd = `cwd`), writing the executed copy to `dest`."
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor
    nb = nbformat.read(src, as_version=4)
    backend = os.environ.pop("MPLBACKEND", None)   # the Makefile's Agg would keep the figures out of the notebook
    try: ExecutePreprocessor(timeout=timeout, kernel_name="python3").preprocess(nb, {"metadata": {"path": str(cwd)}})
    finally:
        if backend is not None: os.environ["MPLBACKEND"] = backend
    nbformat.write(nb, dest)

def index_markdown(repo_url:str) -> str:
    "The docs home page: the README's text, links into the repository pointed at the repository's web page."
    text = readme_text(ROOT/"nbs"/"index.ipynb").split("\n", 2)[2]
    def absolute(m):
        target = m.group(2)
        if re.match(r"[a-z]+:|#", target): return m.group(0)
        return f"{m.group(1)}{repo_url}/blob/main/{target}"
    return re.sub(r"(\]\(|^\[\w+\]: )([^)\s]+)", absolute, text, flags=re.M)

def project_name_and_repo(pyproject:Path) -> tuple:
    "The project's name and repository URL from pyproject.toml (a regex: tomllib needs Python 3.11)."
    text = pyproject.read_text()
    name = re.search(r'^name\s*=\s*"([^"]+)"', text, flags=re.M)
    repo = re.search(r'^Repository\s*=\s*"([^"]+)"', text, flags=re.M)
    return (name.group(1) if name else "docs"), (repo.group(1) if repo else "")

def mkdocs_config(pages:list, site_name:str, repo_url:str, site_dir:Path) -> dict:
    "mkdocs.yml as a dict: material theme without web fonts, mkdocs-jupyter rendering stored outputs only."
    return {"site_name": site_name, "repo_url": repo_url, "site_dir": str(site_dir), "docs_dir": "docs",
            "use_directory_urls": False,
            "theme": {"name": "material", "font": False, "features": ["navigation.top"]},
            "plugins": ["search", {"mkdocs-jupyter": {"include": ["*.ipynb"], "execute": False, "include_source": False,
                                                       "include_requirejs": False, "ignore_h1_titles": False}}],
            "nav": [{"Home": "index.md"}] + [{name: f"{name}.ipynb"} for name, _ in pages]}

def build(run:Path|None, out:Path, stage:Path, execute_results=True) -> dict:
    "Stage the pages into `stage`, write its mkdocs.yml, run `mkdocs build`; return what went in."
    t0 = time.time()
    name, repo_url = project_name_and_repo(ROOT/"pyproject.toml")
    if stage.exists(): shutil.rmtree(stage)
    (stage/"docs").mkdir(parents=True)
    pages = chapter_sources(ROOT/"nbs", run)
    if run is None: print("no executed run under runs/: the chapters show code only; figures need `make run` first")
    else: print(f"chapters as executed in {run} ({sum(p.parent != ROOT/'nbs' for _, p in pages)}/{len(pages)} pages)")
    for name, src in pages:
        dest = stage/"docs"/f"{name}.ipynb"
        if execute_results and name == "12_results": execute(src, dest, cwd=ROOT/"nbs")
        else: shutil.copy(src, dest)
        stage_notebook(dest, dest)
        if run and src.parent != ROOT/"nbs": add_run_figures(dest, name, run, stage/"docs")
    (stage/"docs"/"index.md").write_text(index_markdown(repo_url))
    (stage/"mkdocs.yml").write_text(json.dumps(mkdocs_config(pages, name, repo_url, out.resolve()), indent=1))
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")   # mkdocs-jupyter caches into the working directory: the stage
    cmd = [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", "mkdocs.yml"]
    subprocess.run(cmd, cwd=stage, env=env, check=True)
    executed = [n for n, src in pages if n == "12_results" and execute_results or src.parent != ROOT/"nbs"]
    (out/"build.json").write_text(json.dumps(dict(run=str(run) if run else None, executed=executed), indent=1))
    print(f"built {len(pages) + 1} pages into {out}/ in {time.time() - t0:.1f} s; open {out}/index.html")
    return dict(run=str(run) if run else None, pages=[n for n, _ in pages], seconds=round(time.time() - t0, 1))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default=os.environ.get("RUN") or None, help="runs/<id> to take executed chapters from")
    p.add_argument("--out", default=ROOT/"_docs", type=Path)
    p.add_argument("--stage", default=ROOT/"_docs_src", type=Path)
    p.add_argument("--no-execute", action="store_true", help="do not execute the results chapter")
    a = p.parse_args(argv)
    run = Path(a.run) if a.run else latest_run(ROOT/"runs")
    if run is not None and not (run/"notebooks").is_dir(): p.error(f"{run}: no notebooks/ folder in that run")
    build(run, a.out, a.stage, execute_results=not a.no_execute)

if __name__ == "__main__": main()
