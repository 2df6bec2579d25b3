#!/usr/bin/env bash
# Writes the compatibility fixtures of crates/dae-cli/tests/compat.rs with a given `dae` binary:
# tiny run directories of every kind, as that binary writes them, and what that binary answers
# about them. The test then checks that today's code reads those directories and gives the same
# numbers.
#
#   scripts/make_compat_fixtures.sh DAE_BINARY OUT_DIR
#   scripts/make_compat_fixtures.sh target/release/dae crates/dae-cli/tests/fixtures/compat
#
# OUT_DIR/runs/<name>/          run directories (1 epoch), exactly as the binary wrote them
#   mlp, conv, unet, dncnn      image runs; mlp also has eval.jsonl (--suite standard --save),
#                               probe.json and latent_map.png (dae probe)
#   mlm                         a text run (--task mlm, char tokenizer)
# OUT_DIR/runs/experiment/      `dae experiment robustness` (2 train x 2 test noises, conv: the
#                               experiment has no --hidden, and its default MLP is 8 MB a run)
# OUT_DIR/expected/<name>/
#   eval.json                   stdout of `dae eval RUN --json --limit N --seed 0`
#   fill.json                   (mlm) stdout of `dae fill RUN "In the [MASK]" --json`
#   report.sections             (image runs, experiment) the ids of report.html's <h2> sections
#                               that `dae report` writes for a copy of the run, one per line (the
#                               experiment's: for its first run, with --matrix)
#   metrics2.jsonl              metrics.jsonl of an uninterrupted 2-epoch run with the same flags:
#                               what `dae train --resume RUN --epochs 2` must reproduce
# OUT_DIR/expected/experiment/args  the experiment's arguments after `--out DIR`, one per line
#
# To keep the fixtures small (< 3 MB), model.safetensors (the PyTorch export of mlp and conv
# models, which dae never reads back) is removed from the runs; nothing else is changed.
#
# Every command runs on one thread (--threads 1 where the command has it, RAYON_NUM_THREADS=1
# for the others) so that the numbers do not depend on the machine's core count.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 DAE_BINARY OUT_DIR" >&2
    exit 2
fi
DAE=$(realpath "$1")
OUT=$2
export RAYON_NUM_THREADS=1

rm -rf "$OUT/runs" "$OUT/expected"
mkdir -p "$OUT/runs" "$OUT/expected"
OUT=$(realpath "$OUT")
SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT

COMMON_IMAGE=(--train-limit 64 --val-limit 32 --seed 0 --threads 1)
declare -A IMAGE_FLAGS=(
    [mlp]="--model mlp --hidden 32 --latent-dim 8"
    [conv]="--model conv"
    [unet]="--model unet --width 4 --depth 2"
    [dncnn]="--model dncnn --width 4 --depth 3"
)
MLM_FLAGS=(--task mlm --tokenizer char --d-model 16 --layers 1 --heads 2 --d-ff 32 --seq-len 16
    --train-limit 64 --val-limit 16 --threads 1)

# train NAME EPOCHS DIR FLAGS...: one quiet training run.
train() {
    local name=$1 epochs=$2 dir=$3
    shift 3
    echo "== $name: train $epochs epoch(s) -> $dir" >&2
    "$DAE" train "$@" --epochs "$epochs" --out "$dir" >/dev/null 2>"$SCRATCH/log" ||
        { cat "$SCRATCH/log" >&2; exit 1; }
}

# quiet CMD...: runs CMD with its output in a log, shown only when it fails.
quiet() {
    "$@" >"$SCRATCH/log" 2>&1 || { cat "$SCRATCH/log" >&2; exit 1; }
}

for name in mlp conv unet dncnn; do
    # shellcheck disable=SC2206 # the flags are words on purpose
    flags=(${IMAGE_FLAGS[$name]} "${COMMON_IMAGE[@]}")
    run="$OUT/runs/$name"
    mkdir -p "$OUT/expected/$name"
    train "$name" 1 "$run" "${flags[@]}"
    "$DAE" eval "$run" --json --limit 32 --seed 0 --threads 1 >"$OUT/expected/$name/eval.json"
    train "$name" 2 "$SCRATCH/$name-2" "${flags[@]}"
    cp "$SCRATCH/$name-2/metrics.jsonl" "$OUT/expected/$name/metrics2.jsonl"
done

# The extra files a run directory can hold: eval.jsonl and the probe's files.
quiet "$DAE" eval "$OUT/runs/mlp" --suite standard --save --limit 32 --threads 1
quiet "$DAE" probe "$OUT/runs/mlp" --train-limit 64 --test-limit 32 --pca-dim 8

run="$OUT/runs/mlm"
mkdir -p "$OUT/expected/mlm"
train mlm 1 "$run" "${MLM_FLAGS[@]}"
"$DAE" eval "$run" --json --limit 16 --threads 1 >"$OUT/expected/mlm/eval.json"
"$DAE" fill "$run" "In the [MASK]" --json >"$OUT/expected/mlm/fill.json"
train mlm 2 "$SCRATCH/mlm-2" "${MLM_FLAGS[@]}"
cp "$SCRATCH/mlm-2/metrics.jsonl" "$OUT/expected/mlm/metrics2.jsonl"

EXPERIMENT=(--train-noise gaussian:sigma=0.3 --train-noise mask:keep=0.7
    --test-noise gaussian:sigma=0.3 --test-noise mask:keep=0.8
    --model conv --epochs 1 --train-limit 64 --val-limit 32 --seed 0)
mkdir -p "$OUT/expected/experiment"
printf '%s\n' "${EXPERIMENT[@]}" >"$OUT/expected/experiment/args"
echo "== experiment robustness -> $OUT/runs/experiment" >&2
quiet "$DAE" experiment robustness --out "$OUT/runs/experiment" "${EXPERIMENT[@]}"

rm "$OUT"/runs/{mlp,conv}/model.safetensors "$OUT"/runs/experiment/*/model.safetensors

# sections RUN_DIR NAME [REPORT FLAGS...]: records the sections of the report on a copy of RUN_DIR.
sections() {
    local run=$1 name=$2
    shift 2
    rm -rf "$SCRATCH/report"
    cp -r "$run" "$SCRATCH/report"
    quiet "$DAE" report "$SCRATCH/report" "$@"
    grep -o '<h2 id="[a-z]*"' "$SCRATCH/report/report.html" | sed 's/.*id="\(.*\)"/\1/' \
        >"$OUT/expected/$name/report.sections"
}
for name in mlp conv unet dncnn; do sections "$OUT/runs/$name" "$name"; done
sections "$OUT/runs/experiment/gaussian-sigma-0.3" experiment --matrix "$OUT/runs/experiment"

for d in "$OUT"/runs/* "$OUT/expected" "$OUT"; do du -sh "$d" >&2; done
