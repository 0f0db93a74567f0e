#!/usr/bin/env bash
# FIRST accuracy benchmarks on a lent GPU machine (the workplace's `device` tool), several runs at once on one GPU.
#
# That machine has PyTorch, timm, pandas, scikit-learn... but no package registry, so the rest of our stack travels
# with the call: the fastai family (and firstgalaxydata, astropy) as wheels in .whl/, and the literature and
# crossvalid_test stores in .gpu/cache (the five fold stores are ingested there from the firstgalaxydata wheel).
# Both folders are ignored by git (.git/info/exclude) and named in the call's `carry`.
#
# Usage, in the repo root on the device machine:
#   bash benchmarks/gpu_first.sh "--profile gpu --seeds 0 --tag gpu-lit" "--profile gpu --crossvalid --folds 0 --tag gpu-cv" ...
# Each quoted argument list is one bench_first_accuracy.py process; they share the GPU and append to
# benchmarks/results/ under a lock. Logs and results come back as $OUT/results.tgz (merge with benchmarks/merge_results.py).
set -u
OUT=${OUT:-/tmp/out}; LOGS=/tmp/gpu-logs; mkdir -p "$OUT" "$LOGS/logs"   # only results.tgz goes to $OUT (the tool returns 8 files)
LIMIT=${RUN_LIMIT_S:-500}    # each process is stopped after this many seconds, so the results still come back
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 CM_BENCH_CACHE=$PWD/.gpu/cache MPLBACKEND=Agg PYTHONHASHSEED=0
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, timm, fastai; print('torch', torch.__version__, 'timm', timm.__version__, 'fastai', fastai.__version__, 'cuda', torch.cuda.is_available())"
# every store once, before the parallel runs (each store is its own folder, so they ingest in parallel)
for w in literature crossvalid_test crossvalid_0 crossvalid_1 crossvalid_2 crossvalid_3 crossvalid_4; do
  python3 -c "import sys; sys.path.insert(0, 'benchmarks'); import bench_first_accuracy as b; b.first_store('$w')" > "$LOGS/logs/store-$w.log" 2>&1 &
done; wait
i=0; t0=$(date +%s)
for args in "$@"; do
  echo "run$i: $args" | tee -a "$LOGS/logs/runs.txt"
  timeout "$LIMIT" python3 benchmarks/bench_first_accuracy.py $args > "$LOGS/logs/run$i.log" 2>&1 &
  i=$((i+1))
done
wait
echo "all runs done in $(( $(date +%s) - t0 )) s" | tee -a "$LOGS/logs/runs.txt"
python3 - "$LOGS"/logs/run*.log <<'PY'   # one line per run: what it was, test accuracy plain / D4 TTA, training speed
import json, sys
for f in sys.argv[1:]:
    runs = [json.loads(l) for l in open(f) if l.startswith('{"seed"')]
    print(f.rsplit("/", 1)[-1], *[f"fold {r.get('fold', '-')} seed {r['seed']}: acc {r['accuracy']:.3f} tta {r['accuracy_tta']:.3f} "
                                  f"{r['fit_images_per_s']:.0f} img/s {r['train_minutes']:.1f} min" for r in runs] or [open(f).read()[-300:]])
PY
tar czf "$OUT/results.tgz" -C "$LOGS" logs -C "$PWD" benchmarks/results/first_accuracy.json benchmarks/results/first_accuracy.md benchmarks/results/first_probs
