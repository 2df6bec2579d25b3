#!/usr/bin/env bash
# Times two dae binaries back to back on the same machine: `dae bench` (training epoch and
# inference, conv and MLP, 1 and 2 threads), ROUNDS rounds of OLD NEW NEW OLD, then prints the
# median of each figure per binary and their ratio (NEW / OLD; for times, < 1 is faster).
# Each round runs both orders: on a busy 2-core machine the second run of a pair was measured
# slower in most rounds, whichever binary it was (BENCHMARKS.md, issue 11).
#
#   scripts/bench_before_after.sh OLD_DAE NEW_DAE [ROUNDS] [extra dae bench flags...]
#   scripts/bench_before_after.sh /tmp/dae-9aadcbf target/release/dae 3 --epochs 2
set -euo pipefail
old=$1 new=$2 rounds=${3:-3}
shift $(( $# >= 3 ? 3 : $# ))
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  for side in old new new old; do
    bin=$old; [ "$side" = new ] && bin=$new
    "$bin" bench --json "$@" >> "$out/$side.jsonl"
  done
done
python3 - "$out/old.jsonl" "$out/new.jsonl" <<'PY'
import json, statistics, sys
def load(path):
    rows = {}
    for line in open(path):
        r = json.loads(line)
        rows.setdefault((r["model"], r["threads"]), []).append(r)
    return rows
old, new = load(sys.argv[1]), load(sys.argv[2])
med = lambda rs, k: statistics.median(r[k] for r in rs)
print(f"{'model':<6}{'threads':>8}{'epoch s old':>13}{'new':>8}{'ratio':>7}"
      f"{'infer img/s old':>17}{'new':>9}{'ratio':>7}{'peak MB old':>13}{'new':>7}{'PSNR old':>10}{'new':>8}")
for key in sorted(old):
    o, n = old[key], new[key]
    eo, en = med(o, "train_seconds"), med(n, "train_seconds")
    io, inn = med(o, "infer_images_per_second"), med(n, "infer_images_per_second")
    mo, mn = med(o, "peak_rss_bytes") / 2**20, med(n, "peak_rss_bytes") / 2**20
    print(f"{key[0]:<6}{key[1]:>8}{eo:>13.3f}{en:>8.3f}{en/eo:>7.2f}{io:>17.0f}{inn:>9.0f}{inn/io:>7.2f}"
          f"{mo:>13.0f}{mn:>7.0f}{med(o,'val_psnr'):>10.3f}{med(n,'val_psnr'):>8.3f}")
print(f"({len(next(iter(old.values())))} runs of each, medians; raw JSON lines in {sys.argv[1]} and {sys.argv[2]})")
PY
