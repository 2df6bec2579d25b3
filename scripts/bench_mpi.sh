#!/usr/bin/env bash
# Throughput of `dae train` in one process and over MPI (docs/distributed.md), one kernel thread
# per process: the conv DAE and the diffusion U-Net, the last epoch's training time (process 0's
# clock, which includes waiting in the gradient sums) and the time and bytes of the sums.
#
#   scripts/bench_mpi.sh [--dae target/release/dae] [--ranks "1 2"] [--repeat R]
#
# Needs a dae built with `--features mpi`. As root, Open MPI's allow-run-as-root variables are set.
set -euo pipefail
DAE=target/release/dae
RANKS="1 2"
REPEAT=1
while [ $# -gt 0 ]; do
    case "$1" in
    --dae) DAE="$2"; shift 2 ;;
    --ranks) RANKS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
    esac
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# name | flags (2 epochs: the second is measured, after the first warmed the caches)
CONV="train --model conv --train-limit 4096 --val-limit 64 --epochs 2 --threads 1 --seed 1"
DIFF="train --task diffusion --train-limit 2048 --val-limit 64 --epochs 2 --threads 1 --seed 1"

last_epoch() { # run directory -> "seconds images/s"
    python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print("%.2f s  %.0f img/s" % (r["train_seconds"], r.get("images_per_second", 0) or 0))' "$1/metrics.jsonl"
}

for name in conv diffusion; do
    flags=$CONV
    [ "$name" = diffusion ] && flags=$DIFF
    for ranks in $RANKS; do
        for r in $(seq 1 "$REPEAT"); do
            run="$OUT/$name-$ranks-$r"
            if [ "$ranks" = 1 ]; then
                "$DAE" $flags --out "$run" >/dev/null 2>"$run.log"
            else
                mpirun --oversubscribe -np "$ranks" "$DAE" $flags --distributed mpi \
                    --out "$run" >/dev/null 2>"$run.log"
            fi
            sums=$(grep -o 'sums over the processes.*' "$run.log" || true)
            echo "$name  processes $ranks  run $r: last epoch $(last_epoch "$run")  ${sums}"
        done
    done
done
