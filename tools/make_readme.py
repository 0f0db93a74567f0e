"""Write README.md from nbs/index.ipynb: the index notebook is the source, the README its markdown.

`make readme` runs it; tests/test_docs.py fails when README.md differs from what this writes.
nbdev-readme would do the same through Quarto, which is not installable offline."""
import argparse, json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by `make readme` (tools/make_readme.py): edit the notebook, not this. -->"

def cell_markdown(cell:dict) -> str:
    "A cell as README markdown: markdown as it is, code fenced as python, `#| hide` cells left out."
    src = "".join(cell["source"]).strip("\n")
    if cell["cell_type"] == "markdown": return src
    if cell["cell_type"] != "code" or not src or src.lstrip().startswith("#| hide"): return ""
    return f"```python\n{src}\n```"

def readme_text(nb_path=ROOT/"nbs"/"index.ipynb") -> str:
    "README.md's text: the header line, then every shown cell of `nb_path`, one blank line apart."
    cells = json.loads(Path(nb_path).read_text())["cells"]
    parts = [HEADER] + [t for t in map(cell_markdown, cells) if t]
    return "\n\n".join(parts) + "\n"

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nb", default=ROOT/"nbs"/"index.ipynb", type=Path)
    p.add_argument("--out", default=ROOT/"README.md", type=Path)
    p.add_argument("--check", action="store_true", help="exit 1 if the README differs instead of writing it")
    a = p.parse_args(argv)
    text = readme_text(a.nb)
    if a.check:
        same = a.out.exists() and a.out.read_text() == text
        print(f"{a.out}: {'in step with' if same else 'differs from'} {a.nb}")
        return 0 if same else 1
    a.out.write_text(text)
    print(f"wrote {a.out} ({len(text.encode())} bytes) from {a.nb}")
    return 0

if __name__ == "__main__": raise SystemExit(main())
