#!/usr/bin/env bash
# Speed of dae's speech denoisers: the training epoch against the plain-PyTorch twin
# (scripts/audio_torch.py bench, the same model, loss, segments, batch and optimizer), and the
# real-time factor of `dae denoise` (seconds of compute per second of audio) on one thread.
#
#   scripts/bench_audio.sh [--data DIR] [--threads 1,2] [--epochs 3] [--models spectral,wave]
#
# Training: `dae train --task audio --audio-model M --epochs E --threads T --data DIR`, the median
# `train_seconds` of epochs 2..E of metrics.jsonl (epoch 1 warms up; the per-epoch validation is
# not counted); PyTorch: the median of its epochs 2..E. Each thread count runs PyTorch then dae.
# Real-time factor: the trained dae run denoises one 60 s WAV file (the test speaker's recordings
# joined, from `dae eval --write-audio`, repeated) three times on one thread; the median wall time
# of the command (process start, model load and WAV I/O included) divided by 60.
#
# Environment: PYTHON (default /tmp/torch-venv/bin/python), DAE (default target/release/dae).
# DIR defaults to the embedded subset's tar (data/fsdd/fsdd-subset.tar) for PyTorch and to the
# embedded data for dae.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/tmp/torch-venv/bin/python}
DAE=${DAE:-target/release/dae}
DATA=""
THREADS=1,2
EPOCHS=3
MODELS=spectral,wave
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --epochs) EPOCHS=$2; shift 2 ;;
    --models) MODELS=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ "$EPOCHS" -ge 2 ] || { echo "error: --epochs must be at least 2 (epoch 1 is the warm-up)" >&2; exit 2; }
[ -x "$PYTHON" ] || { echo "error: $PYTHON not found; set PYTHON to a python with torch" >&2; exit 2; }
if [ ! -x "$DAE" ]; then cargo build --release -p dae-cli; fi

RUNS=$(mktemp -d /tmp/dae-bench-audio.XXXXXX)
trap 'rm -rf "$RUNS"' EXIT
DAE_DATA=(); TORCH_DATA=()
if [ -n "$DATA" ]; then DAE_DATA=(--data "$DATA"); TORCH_DATA=(--data "$DATA"); fi

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "| model | threads | dae s/epoch | PyTorch s/epoch | dae / PyTorch |"
echo "|---|---|---|---|---|"
for model in ${MODELS//,/ }; do
  for t in ${THREADS//,/ }; do
    torch=$("$PYTHON" scripts/audio_torch.py bench --model "$model" --epochs "$EPOCHS" --threads "$t" \
      "${TORCH_DATA[@]}" 2>/dev/null | "$PYTHON" -c 'import json,sys,statistics; r=json.loads(sys.stdin.read()); print(statistics.median(r["epoch_s"][1:]))')
    run="$RUNS/$model-$t"
    "$DAE" train --task audio --audio-model "$model" --epochs "$EPOCHS" --threads "$t" \
      "${DAE_DATA[@]}" --out "$run" > /dev/null 2>&1
    dae=$(tail -n +2 "$run/metrics.jsonl" | "$PYTHON" -c 'import json,sys; [print(json.loads(l)["train_seconds"]) for l in sys.stdin]' | median)
    printf "| %s | %s | %.2f | %.2f | %.2fx |\n" "$model" "$t" "$dae" "$torch" "$(echo "$dae / $torch" | bc -l)"
  done
done

echo
echo "| model | audio | dae denoise wall s (median of 3, 1 thread) | real-time factor |"
echo "|---|---|---|---|"
for model in ${MODELS//,/ }; do
  run=$(ls -d "$RUNS/$model-"* | head -1)
  "$DAE" eval "$run" --noise noise:snr=5 --write-audio "$RUNS/clips-$model" --threads 1 > /dev/null 2>&1
  long="$RUNS/long-$model.wav"
  "$PYTHON" - "$RUNS/clips-$model/00" "$long" <<'PY'
import glob, sys, wave
frames, rate = b"", 8000
for f in sorted(glob.glob(sys.argv[1] + "/clip*-noisy.wav")):
    w = wave.open(f); rate = w.getframerate(); frames += w.readframes(w.getnframes())
need = 60 * rate * 2
frames = (frames * (need // max(len(frames), 1) + 1))[:need]
out = wave.open(sys.argv[2], "wb"); out.setnchannels(1); out.setsampwidth(2); out.setframerate(rate)
out.writeframes(frames); out.close()
PY
  times=()
  for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$DAE" denoise "$run" "$long" -o "$RUNS/out-$model" --threads 1 > /dev/null 2>&1
    times+=("$(echo "$(date +%s.%N) - $start" | bc -l)")
  done
  wall=$(printf "%s\n" "${times[@]}" | median)
  printf "| %s | 60 s at 8 kHz | %.3f | %.4f |\n" "$model" "$wall" "$(echo "$wall / 60" | bc -l)"
done
