#!/usr/bin/env bash
# Reproduces the "Representation quality" numbers of BENCHMARKS.md: trains the plain conv DAE,
# the masked-image-modeling conv model and the MLP DAE with the same epochs and seed, then probes
# each (`dae probe`), writing probe.json and latent_map.png into every run directory.
#
#   scripts/probe_benchmarks.sh OUT_DIR            # embedded 8k/2k split, 10 epochs
#   scripts/probe_benchmarks.sh OUT_DIR full       # full Fashion-MNIST 60k/10k, 2 epochs
#
# The full set is read from /usr/share/datasets/fashion-mnist (Debian: dataset-fashion-mnist) or
# $FASHION_MNIST.
set -euo pipefail
out=${1:?usage: probe_benchmarks.sh OUT_DIR [full]}
dae=${DAE:-target/release/dae}
if [[ ${2:-} == full ]]; then
    data=(--data "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}")
    epochs=2
    prefix=full-
else
    data=()
    epochs=10
    prefix=
fi
mkdir -p "$out"
train() {
    local name=$1; shift
    [[ -f $out/$prefix$name/model.bpk ]] ||
        "$dae" train "${data[@]}" --epochs "$epochs" --val-limit 2000 --seed 0 \
            --out "$out/$prefix$name" "$@"
}
train conv-gauss --model conv --noise gaussian:sigma=0.3
train conv-mim --model conv --noise patch:size=7,ratio=0.5 --masked-loss
train mlp-gauss --model mlp --noise gaussian:sigma=0.2
# The raw-pixel and PCA rows depend on the data only: computed once, with the first run.
baselines=(--pca-dim 64 --pca-dim 784)
for name in conv-gauss conv-mim mlp-gauss; do
    echo "== $prefix$name"
    "$dae" probe "$out/$prefix$name" "${baselines[@]}"
    baselines=(--no-baselines)
done
