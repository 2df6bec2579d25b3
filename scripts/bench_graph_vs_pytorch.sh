#!/usr/bin/env bash
# Epoch time of dae's graph autoencoders against their plain-PyTorch twin (scripts/graph_torch.py)
# on Cora, for the two default recipes (crates/dae/src/tasks/graph/config.rs):
#   edges     GCN 1433 -> 32 -> 16, full-adjacency loss, lr 0.01, message passing on 85% of the edges
#   features  GCN 1433 -> 512 -> 512 + GCN decoder, half the nodes masked per step, SCE γ 3
# An epoch is 10 full-batch steps. dae: `dae train --task graph --objective R --epochs E
# --threads T`, the median `train_seconds` of epochs 2..E of its metrics.jsonl (epoch 1 is the
# warm-up; the per-epoch link-prediction validation is not counted). PyTorch: one warm-up epoch,
# then the median of E-1 timed epochs. Each thread count runs PAIRS alternating pairs (PyTorch,
# then dae), so both see the same machine load; a tool's figure is the median over its pairs.
# Prints a markdown table (recipe, threads, dae s/epoch, PyTorch s/epoch, ratio dae/PyTorch,
# pairs).
#
#   scripts/bench_graph_vs_pytorch.sh [--threads 1,2] [--epochs 5] [--recipes edges,features]
#                                     [--pairs 1]
#
# Environment: PYTHON (default /tmp/torch-venv/bin/python, with torch and numpy), DAE (default
# target/release/dae, built here if missing). Runs go to a temporary folder, removed at the end;
# the raw JSON lines to $OUT (default /tmp/dae-bench-graph-vs-pytorch.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/tmp/torch-venv/bin/python}
DAE=${DAE:-target/release/dae}
OUT=${OUT:-/tmp/dae-bench-graph-vs-pytorch.jsonl}
THREADS=1,2
EPOCHS=5
RECIPES=edges,features
PAIRS=1
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --recipes) RECIPES=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$PAIRS" -ge 1 ] || { echo "error: --pairs must be at least 1" >&2; exit 2; }
[ "$EPOCHS" -ge 2 ] || { echo "error: --epochs must be at least 2 (epoch 1 is the warm-up)" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "error: $PYTHON not found; set PYTHON to a python with torch" >&2; exit 2; }
if [ ! -x "$DAE" ]; then cargo build --release -p dae-cli; fi

RUNS=$(mktemp -d /tmp/dae-bench-graph.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
echo "machine: $(nproc) CPUs, $(lscpu | grep 'Model name' | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
: > "$OUT"
for recipe in ${RECIPES//,/ }; do
  for threads in ${THREADS//,/ }; do
   for pair in $(seq "$PAIRS"); do
    echo "== $recipe, $threads thread(s), pair $pair: PyTorch" >&2
    "$PYTHON" scripts/graph_torch.py bench --recipes "$recipe" --threads "$threads" \
      --repeat $((EPOCHS - 1)) --data data/cora >> "$OUT"
    echo "== $recipe, $threads thread(s), pair $pair: dae" >&2
    run="$RUNS/$recipe-$threads-$pair"
    "$DAE" train --task graph --objective "$recipe" --epochs "$EPOCHS" --threads "$threads" \
      --data data/cora --out "$run" >&2
    "$PYTHON" - "$run/metrics.jsonl" "$recipe" "$threads" >> "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
times = [r["train_seconds"] for r in rows if r["epoch"] >= 2]
print(json.dumps({"tool": "dae", "recipe": sys.argv[2], "threads": int(sys.argv[3]),
                  "seconds_per_epoch": statistics.median(times), "epochs": times}))
PY
   done
  done
done

"$PYTHON" - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault((r["tool"], r["recipe"], r["threads"]), []).append(r["seconds_per_epoch"])
print("| recipe | threads | dae s/epoch | PyTorch s/epoch | dae/PyTorch | pairs |")
print("|---|---:|---:|---:|---:|---:|")
for recipe, threads in dict.fromkeys((r["recipe"], r["threads"]) for r in rows):
    d = statistics.median(by[("dae", recipe, threads)])
    t = statistics.median(by[("pytorch", recipe, threads)])
    n = len(by[("dae", recipe, threads)])
    print(f"| {recipe} | {threads} | {d:.3f} | {t:.3f} | {d / t:.2f} | {n} |")
PY
