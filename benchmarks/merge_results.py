"""Merge benchmark results made on another machine (a lent GPU: `benchmarks/gpu_first.sh`) into benchmarks/results/.

    python benchmarks/merge_results.py results.tgz

The archive holds that machine's copy of first_accuracy.json / .md and first_probs/. Its log entries that this
checkout lacks (same tag, mode, date and command) are appended in their order, as are its new Markdown rows and
probability files; nothing here is overwritten, so local runs made meanwhile are kept."""
import json, sys, tarfile, tempfile
from pathlib import Path

RESULTS = Path(__file__).parent/"results"
key = lambda e: (e["tag"], e["mode"], e["date"], e["command"])

def merge(archive:Path) -> dict:
    if not tarfile.is_tarfile(archive): raise SystemExit(f"{archive}: not a tar archive of benchmark results")
    with tempfile.TemporaryDirectory() as d:
        with tarfile.open(archive) as t: t.extractall(d, filter="data")
        src = Path(d)/"benchmarks"/"results"
        if not (src/"first_accuracy.json").exists(): raise SystemExit(f"{archive}: has no benchmarks/results/first_accuracy.json")
        mine = json.loads((RESULTS/"first_accuracy.json").read_text())
        have = {key(e) for e in mine}
        new = [e for e in json.loads((src/"first_accuracy.json").read_text()) if key(e) not in have]
        (RESULTS/"first_accuracy.json").write_text(json.dumps(mine + new, indent=1))
        md = (RESULTS/"first_accuracy.md").read_text().splitlines()
        rows = [r for r in (src/"first_accuracy.md").read_text().splitlines() if r not in set(md)]
        (RESULTS/"first_accuracy.md").write_text("\n".join(md + rows) + "\n")
        probs = 0
        for f in (src/"first_probs").rglob("*.json"):
            dst = RESULTS/"first_probs"/f.relative_to(src/"first_probs")
            if not dst.exists(): dst.parent.mkdir(parents=True, exist_ok=True); dst.write_bytes(f.read_bytes()); probs += 1
    return dict(entries=len(new), md_rows=len(rows), prob_files=probs, tags=sorted({e["tag"] for e in new}))

if __name__ == "__main__":
    if len(sys.argv) != 2: raise SystemExit(__doc__)
    print(json.dumps(merge(Path(sys.argv[1]))))
