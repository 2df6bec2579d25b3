#!/usr/bin/env bash
# The sanity table of BENCHMARKS.md, "Sample quality (offline Fréchet distance)": `dae fid` of
# the Fashion-MNIST test split against the first 10k training images (the floor), and against
# noisy and blurred copies of itself (written by the quality_sets example).
#
#   scripts/quality_sanity.sh [DATA_DIR] [WORK_DIR]
set -euo pipefail
DATA=${1:-/usr/share/datasets/fashion-mnist}
WORK=${2:-/tmp/dae-quality-sanity}
cd "$(dirname "$0")/.."
cargo build --release -p dae-cli
cargo build --release -p dae --example quality_sets
DAE=target/release/dae
if [ ! -d "$WORK/blur-2" ]; then
  target/release/examples/quality_sets "$DATA" "$WORK"
fi
row() { # name, then the arguments of dae fid
  local name=$1; shift
  local json
  json=$("$DAE" fid "$@" --json)
  python3 -c 'import json, sys; s = json.loads(sys.argv[2]); print("%-28s %10.3f %10.5f %9.4f %9.4f" % (sys.argv[1], s["frechet_distance"], s["kid"], s["precision"], s["recall"]))' "$name" "$json"
}
printf '%-28s %10s %10s %9s %9s\n' "B (A = test split, 10k)" "FD" "KID" "precision" "recall"
row "train, first 10k (floor)" "$DATA" "$DATA" --split-b train --limit-b 10000
for s in 0.05 0.1 0.2 0.3; do row "Gaussian noise σ=$s" "$DATA" "$WORK/noise-$s"; done
for s in 0.5 1 2; do row "Gaussian blur σ=$s px" "$DATA" "$WORK/blur-$s"; done
