#!/usr/bin/env bash
# Trains and evaluates graph runs over several seeds (each seed draws its own edge split,
# initialization and corruption) and prints the mean and standard deviation of every number
# `dae eval --json` reports: the numbers of BENCHMARKS.md, "Graphs".
#
#   scripts/graph_seeds.sh OUT_DIR [SEEDS] [-- TRAIN FLAGS...]
#
# e.g. `scripts/graph_seeds.sh runs/gae 10` (GAE on the embedded Cora, seeds 0..9) or
# `scripts/graph_seeds.sh runs/mae 3 -- --objective features`. Runs already finished in OUT_DIR
# are reused (resumed if unfinished); OUT_DIR/seeds.jsonl holds one eval object per seed.
# Environment: DAE (default: target/release/dae, built if missing), THREADS (default 2).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: scripts/graph_seeds.sh OUT_DIR [SEEDS] [-- TRAIN FLAGS...]}"
seeds="${2:-10}"
shift $(( $# >= 2 ? 2 : 1 ))
[[ "${1:-}" == "--" ]] && shift
dae="${DAE:-$root/target/release/dae}"
threads="${THREADS:-2}"
[[ -x "$dae" ]] || (cd "$root" && cargo build --release -p dae-cli)

mkdir -p "$out"
: > "$out/seeds.jsonl"
for ((s = 0; s < seeds; s++)); do
  run="$out/seed-$s"
  if [[ -f "$run/model.bpk" ]]; then
    :
  elif [[ -f "$run/config.json" ]]; then
    "$dae" train --resume "$run" --threads "$threads"
  else
    "$dae" train --task graph --seed "$s" --threads "$threads" --out "$run" "$@"
  fi
  "$dae" eval "$run" --json --save --threads "$threads" >> "$out/seeds.jsonl"
  echo "seed $s: $(tail -n 1 "$out/seeds.jsonl" | cut -c1-160)" >&2
done

python3 - "$out/seeds.jsonl" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def line(name, values):
    values = [100 * v for v in values]
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    print(f"| {name} | {statistics.mean(values):.1f} ± {sd:.1f} | {min(values):.1f} | {max(values):.1f} |")
print(f"{len(rows)} seeds, {rows[0]['data']}; mean ± sd (min, max), in %")
print("| measure | mean ± sd | min | max |\n|---|---|---|---|")
for key in ["auc", "ap"]:
    line(f"link prediction {key.upper()}", [r[key] for r in rows])
for i, b in enumerate(rows[0]["baselines"]):
    for key in ["auc", "ap"]:
        line(f"{b['method']} {key.upper()}", [r["baselines"][i][key] for r in rows])
for key in ["probe_accuracy", "raw_probe_accuracy", "spectral_probe_accuracy", "nmi", "raw_nmi"]:
    line(key, [r[key] for r in rows])
PY
