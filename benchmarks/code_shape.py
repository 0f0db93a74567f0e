"""Shape of the library as STYLE.md measures it: module sizes, longest functions, most parameters, lines over 120
characters, definitions and lines per export cell. Writes benchmarks/results/code_shape.json.

Run: python benchmarks/code_shape.py [--label after] [--root .]   (e.g. --root on a checkout of an older commit)
"""
import argparse, ast, datetime, glob, json, statistics
from pathlib import Path

def shape(root:Path) -> dict:
    fn, longl, total, sizes = [], 0, 0, {}
    for p in glob.glob(f"{root}/cosmic_morph/**/*.py", recursive=True):
        if p.endswith(("_modidx.py", "__init__.py", "__main__.py")): continue
        src = open(p).read(); lines = src.splitlines(); rel = str(Path(p).relative_to(root))
        total += len(lines); longl += sum(len(l) > 120 for l in lines); sizes[rel] = len(lines)
        for n in ast.walk(ast.parse(src)):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                fn.append((n.end_lineno - n.lineno + 1, len(n.args.args) + len(n.args.kwonlyargs), f"{rel}:{n.name}"))
    defs, cell_lines = [], []
    for f in glob.glob(f"{root}/nbs/*.ipynb"):
        for c in json.load(open(f))["cells"]:
            s = "".join(c["source"])
            if c["cell_type"] != "code" or not s.lstrip().startswith("#| export"): continue
            try: d = sum(isinstance(x, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) for x in ast.parse(s).body)
            except SyntaxError: continue
            if d: defs.append(d); cell_lines.append(len(s.splitlines()))
    return dict(modules=len(sizes), median_module_lines=statistics.median(sizes.values()), library_lines=total,
                share_lines_over_120=round(longl / total, 4), largest_modules=sorted(sizes.items(), key=lambda x: -x[1])[:5],
                longest_functions=sorted(fn, reverse=True)[:5], most_parameters=sorted(fn, key=lambda t: -t[1])[:5],
                median_definitions_per_export_cell=statistics.median(defs),
                median_export_cell_lines=statistics.median(cell_lines), max_export_cell_lines=max(cell_lines))

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent)); ap.add_argument("--label", default="now")
    a = ap.parse_args()
    out = Path(__file__).parent/"results"/"code_shape.json"
    log = json.loads(out.read_text()) if out.exists() else []
    log.append(dict(label=a.label, command="python benchmarks/code_shape.py --label " + a.label,
                    date=datetime.date.today().isoformat(), **shape(Path(a.root))))
    out.write_text(json.dumps(log, indent=1)); print(json.dumps(log[-1], indent=1))
