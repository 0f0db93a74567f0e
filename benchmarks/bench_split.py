"""Benchmark: grouping + stratified split + leakage check on 100 000 synthetic Manifest rows.

Rows carry random 64-bit perceptual hashes, 5 labels with a 10:1 imbalance, and planted duplicate clusters
(exact sha256 copies and near copies 1-4 bits away, some chained). Times `near_duplicate_groups`,
`split_manifest` (which groups again, assigns, and reports) and `check_no_leakage`, and checks that every
planted cluster landed in one split. Compares with a brute-force O(n^2) Hamming scan on a subsample to show
why it is not used. Writes benchmarks/results/split.json.

    PYTHONPATH=. python benchmarks/bench_split.py [--rows 100000] [--max-distance 4]
"""
import argparse, json, time, datetime, platform, sys
from pathlib import Path
import numpy as np, pandas as pd

def synthetic_manifest(n:int, seed:int=0, clusters:int=2000):
    from cosmic_morph.manifest import manifest_from_records
    rng = np.random.default_rng(seed)
    labels = np.array(["a", "b", "c", "d", "e"])[rng.choice(5, n, p=[.45, .25, .15, .1, .05])]
    h = rng.integers(0, 2**64, n, dtype=np.uint64)
    sha = np.array([f"{i:064x}" for i in range(n)], dtype=object)
    # planted clusters: a source row and 1-3 copies; half exact (same sha256), half near (1-4 random bit flips)
    src = rng.choice(n // 2, clusters, replace=False); pos = n // 2 + np.arange(clusters*3)
    members, k = [], 0
    for c, s in enumerate(src):
        size = rng.integers(1, 4); m = [s]
        for _ in range(size):
            j = pos[k]; k += 1
            if c % 2 == 0: sha[j] = sha[s]; h[j] = h[s]
            else:
                flips = rng.choice(64, rng.integers(1, 5), replace=False)
                h[j] = h[m[-1]] ^ np.uint64(sum(1 << int(f) for f in flips))   # chained: copy of the previous copy
            labels[j] = labels[s]; m.append(j)
        members.append(m)
    df = pd.DataFrame(dict(image_id=[f"synth:{i}" for i in range(n)], source="synth", taxonomy="bench", label=labels,
                           uri=[f"images/{s[:2]}/{s}.png" for s in sha], sha256=sha, phash=[f"{int(x):016x}" for x in h],
                           width=64, height=64, mode="L"))
    return manifest_from_records(df.to_dict("records")), members

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("--rows", type=int, default=100_000); ap.add_argument("--max-distance", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0); a = ap.parse_args()
    from cosmic_morph.split import near_duplicate_groups, split_manifest, check_no_leakage, hash_values, hamming
    t = time.perf_counter(); df, members = synthetic_manifest(a.rows, a.seed); t_make = time.perf_counter() - t
    t0 = time.perf_counter(); g = near_duplicate_groups(df, a.max_distance); t_group = time.perf_counter() - t0
    t0 = time.perf_counter(); out = split_manifest(df, seed=a.seed, max_distance=a.max_distance); t_split = time.perf_counter() - t0
    loaded = out.copy(); loaded.attrs = {}      # as read back from disk: the check regroups from scratch
    t0 = time.perf_counter(); rep = check_no_leakage(loaded, a.max_distance); t_check = time.perf_counter() - t0
    together = sum(out.split.iloc[m].nunique() == 1 for m in members)
    grouped = sum(g.iloc[m].nunique() == 1 for m in members)
    # brute force on a subsample, extrapolated quadratically
    sub = 5000; v, _ = hash_values(df.phash[:sub])
    t0 = time.perf_counter()
    for i in range(sub): np.flatnonzero(hamming(v[i+1:], v[i]) <= a.max_distance)
    t_brute = time.perf_counter() - t0
    res = dict(benchmark="split", command=f"PYTHONPATH=. python benchmarks/bench_split.py --rows {a.rows} --max-distance {a.max_distance}",
               machine="2-core CPU, 24 GiB, no GPU", date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               python=platform.python_version(), rows=a.rows, max_distance=a.max_distance, planted_clusters=len(members),
               planted_rows=int(sum(len(m) for m in members)),
               seconds=dict(make_manifest=round(t_make, 2), near_duplicate_groups=round(t_group, 2),
                            split_manifest=round(t_split, 2), check_no_leakage=round(t_check, 2),
                            group_split_check=round(t_group + t_split + t_check, 2)),
               brute_force=dict(rows=sub, seconds=round(t_brute, 2), extrapolated_seconds_for_all=round(t_brute*(a.rows/sub)**2, 1)),
               clusters_grouped=int(grouped), clusters_in_one_split=int(together),
               splits=out.split.value_counts().to_dict(), leakage=rep)
    Path("benchmarks/results").mkdir(parents=True, exist_ok=True)
    Path("benchmarks/results/split.json").write_text(json.dumps(res, indent=2, default=int))
    print(json.dumps(res, indent=2, default=int))

if __name__ == "__main__": main()
