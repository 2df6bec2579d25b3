#!/usr/bin/env bash
# Where the first GPU epoch's time goes with `--features vulkan,gpu-fusion`: trains the MLP and
# the conv DAE briefly with cubecl's kernel-compilation and autotune logs switched on, and prints
# each run's wall time, its per-epoch seconds and how many log lines each log grew by
# (BENCHMARKS.md, "On the GPU").
#
#   scripts/gpu_tuning_log.sh [LOG_DIR]      # logs go to LOG_DIR (default /tmp/dae-gpu-logs)
#
# Environment: DAE (default target/release/dae, built with `--features vulkan,gpu-fusion`), DATA
# (default /usr/share/datasets/fashion-mnist). The machine needs a Vulkan loader and the GPU's
# driver (BENCHMARKS.md says how the lent H200 got them).
set -u
cd "$(dirname "$0")/.."
DAE=${DAE:-target/release/dae}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
LOGS=${1:-/tmp/dae-gpu-logs}
mkdir -p "$LOGS"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# cubecl reads cubecl.toml from the working directory.
cat > "$WORK/cubecl.toml" <<TOML
[compilation]
logger = { level = "basic", file = "$LOGS/compile.log" }
[autotune]
logger = { level = "minimal", file = "$LOGS/autotune.log" }
TOML
DAE=$(realpath "$DAE")
DATA=$(realpath "$DATA")
lines() { cat "$LOGS/$1" 2>/dev/null | wc -l; }
step() { # label, timeout in seconds, dae arguments...
  local label=$1 limit=$2
  shift 2
  local t0
  t0=$(date +%s%N)
  (cd "$WORK" && timeout "$limit" "$DAE" "$@" --out "$WORK/$label" >"$LOGS/$label.out" 2>"$LOGS/$label.err")
  local rc=$?
  echo "== $label: exit $rc, $((($(date +%s%N) - t0) / 1000000)) ms; compile log $(lines compile.log) lines, autotune log $(lines autotune.log) lines"
  cut -c1-120 "$WORK/$label/metrics.jsonl" 2>/dev/null
}
step mlp_10_steps 120 train --model mlp --device vulkan --data "$DATA" --train-limit 1280 --val-limit 256 --epochs 3
step mlp_100_steps 120 train --model mlp --device vulkan --data "$DATA" --train-limit 12800 --val-limit 256 --epochs 2
step conv_100_steps 90 train --model conv --device vulkan --data "$DATA" --train-limit 6400 --val-limit 256 --epochs 2
