#!/usr/bin/env bash
# Side-by-side speed of dae and PyTorch on this machine: the document's conv and MLP models,
# trained and run for inference by each, alternately (PyTorch, dae, PyTorch, dae, ...) so that
# both see the same machine load. Prints each figure and the ratio dae/PyTorch.
#
#   scripts/bench_vs_pytorch.sh [--train-limit N] [--epochs E] [--threads 1,2] [--models conv,mlp]
#                               [--repeat R] [--data DIR] [--gpu]
#                               [--dae-precision bf16] [--torch-precision bf16]
#
# --gpu runs both on the GPU: dae with `--device vulkan` (dae built with `--features vulkan`),
# PyTorch with `--device cuda`; the thread counts then only size the CPU side.
# --dae-precision / --torch-precision set the inference arithmetic of each (default f32, the
# document's code; bf16: dae's `--precision bf16`, a bfloat16 copy of the PyTorch model).
#
# Environment: PYTHON (default /tmp/torch-venv/bin/python, needs torch and numpy), DAE (default:
# target/release/dae, built here if missing). Raw JSON lines go to $OUT (default
# /tmp/dae-bench-vs-pytorch.jsonl).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/tmp/torch-venv/bin/python}
DAE=${DAE:-target/release/dae}
OUT=${OUT:-/tmp/dae-bench-vs-pytorch.jsonl}
DATA=/usr/share/datasets/fashion-mnist
TRAIN_LIMIT=""
EPOCHS=1
THREADS=1,2
MODELS=conv,mlp
REPEAT=1
DAE_DEVICE=cpu
TORCH_DEVICE=cpu
DAE_PRECISION=f32
TORCH_PRECISION=f32
FEATURES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --train-limit) TRAIN_LIMIT=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    --repeat) REPEAT=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --gpu) DAE_DEVICE=vulkan; TORCH_DEVICE=cuda; FEATURES=(--features vulkan); shift ;;
    --dae-precision) DAE_PRECISION=$2; shift 2 ;;
    --torch-precision) TORCH_PRECISION=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -x "$PYTHON" ] || { echo "error: $PYTHON not found; set PYTHON to a python with torch" >&2; exit 2; }
if [ ! -x "$DAE" ]; then cargo build --release -p dae-cli "${FEATURES[@]}"; fi
LIMIT_ARGS=()
[ -n "$TRAIN_LIMIT" ] && LIMIT_ARGS=(--train-limit "$TRAIN_LIMIT")

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); devices: dae $DAE_DEVICE, PyTorch $TORCH_DEVICE; inference: dae $DAE_PRECISION, PyTorch $TORCH_PRECISION" >&2
: > "$OUT"
for model in ${MODELS//,/ }; do
  for threads in ${THREADS//,/ }; do
    for rep in $(seq "$REPEAT"); do
      echo "== $model, $threads thread(s), run $rep: PyTorch" >&2
      "$PYTHON" scripts/bench_torch.py --model "$model" --threads "$threads" --epochs "$EPOCHS" \
        --device "$TORCH_DEVICE" --infer-precision "$TORCH_PRECISION" --data "$DATA" "${LIMIT_ARGS[@]}" | sed 's/^{/{"tool": "pytorch", /' >> "$OUT"
      echo "== $model, $threads thread(s), run $rep: dae" >&2
      "$DAE" bench --json --model "$model" --threads "$threads" --epochs "$EPOCHS" \
        --device "$DAE_DEVICE" --precision "$DAE_PRECISION" --data "$DATA" "${LIMIT_ARGS[@]}" | sed 's/^{/{"tool": "dae", /' >> "$OUT"
    done
  done
done

"$PYTHON" - "$OUT" <<'EOF'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(tool, model, threads, key):
    v = [r[key] for r in rows if (r["tool"], r["model"], r["threads"]) == (tool, model, threads)]
    return statistics.median(v)
print(f'{"model":<5} {"thr":>3} | {"epoch s torch":>13} {"dae":>7} {"ratio":>6} | '
      f'{"infer im/s torch":>16} {"dae":>7} {"ratio":>6} | {"peak MiB torch":>14} {"dae":>6} {"ratio":>6} | {"PSNR torch":>10} {"dae":>6}')
for model, threads in dict.fromkeys((r["model"], r["threads"]) for r in rows):
    t = {k: med("pytorch", model, threads, k) for k in ("train_seconds", "infer_images_per_second", "peak_rss_bytes", "val_psnr")}
    d = {k: med("dae", model, threads, k) for k in t}
    print(f'{model:<5} {threads:>3} | {t["train_seconds"]:>13.2f} {d["train_seconds"]:>7.2f} {d["train_seconds"]/t["train_seconds"]:>5.2f}x | '
          f'{t["infer_images_per_second"]:>16.0f} {d["infer_images_per_second"]:>7.0f} {d["infer_images_per_second"]/t["infer_images_per_second"]:>5.2f}x | '
          f'{t["peak_rss_bytes"]/2**20:>14.0f} {d["peak_rss_bytes"]/2**20:>6.0f} {d["peak_rss_bytes"]/t["peak_rss_bytes"]:>5.2f}x | '
          f'{t["val_psnr"]:>10.2f} {d["val_psnr"]:>6.2f}')
print("ratios are dae/PyTorch: epoch time (lower is better, target <= 1.0), inference "
      "throughput (higher is better, target >= 1.5), peak memory (target <= 1.0)")
EOF
