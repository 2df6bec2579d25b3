#!/usr/bin/env bash
# The bridge from denoising autoencoders to diffusion, measured (issue 12, BENCHMARKS.md
# "Diffusion"): samples of a multi-level run with DDPM (T steps) and DDIM (10, 20, 50, 100
# steps, deterministic (eta 0) and stochastic (eta 1)), and of a single-level run with the DAE chain, each scored by `dae fid` against the
# Fashion-MNIST test split, with the memorisation check against the training split.
#
#   scripts/diffusion_bridge.sh MULTI_RUN SINGLE_RUN OUT_DIR [N] [DATA]
#
# N samples per row (default 250), DATA the MNIST-format folder (default
# /usr/share/datasets/fashion-mnist). Prints one line per row: name, seconds, then dae fid's
# JSON object; the samples stay under OUT_DIR/<row>/.
set -euo pipefail
multi=${1:?multi-level run}; single=${2:?single-level run}; out=${3:?output folder}
n=${4:-250}; data=${5:-/usr/share/datasets/fashion-mnist}
dae=${DAE:-target/release/dae}
mkdir -p "$out"
row() {
    local name=$1; shift
    local dir="$out/$name"
    if [ ! -f "$dir/grid.png" ]; then
        rm -rf "$dir"
        local start=$SECONDS
        "$dae" sample "$@" -n "$n" -o "$dir" >/dev/null
        echo $((SECONDS - start)) > "$out/$name.seconds"
    fi
    printf '%s\t%s\t%s\n' "$name" "$(cat "$out/$name.seconds")" \
        "$("$dae" fid "$data" "$dir" --json --memorisation "$data")"
}
for k in 10 20 50 100; do
    row "ddim-$k" "$multi" --sampler ddim --steps "$k"
    row "ddim-eta1-$k" "$multi" --sampler ddim --steps "$k" --eta 1
done
row ddpm-1000 "$multi" --sampler ddpm
row chain-100 "$single" --sampler chain --steps 100
