#!/usr/bin/env bash
# Runs dae's fuzz targets (fuzz/, cargo-fuzz layout, nightly) one after another, one libFuzzer
# worker each, and appends one line per run to fuzz/runs.tsv (the record RELIABILITY.md sums).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   fuzz each TARGET (default: all) for SECONDS (60)
#   scripts/fuzz.sh --merge [TARGET...]     minimize each corpus (libFuzzer -merge=1), then keep
#                                           its smallest inputs up to FUZZ_CORPUS_KB (40) KiB
#   scripts/fuzz.sh --summary               per-target totals of fuzz/runs.tsv
#   scripts/fuzz.sh --list                  print the targets and their -max_len
#
# Crashing inputs land in fuzz/artifacts/<target>/ (ignored by git); fuzz/dicts/<target>.dict,
# where present, gives libFuzzer the words of a grammar. A run that stops early on a crash or
# timeout is restarted for the rest of its time, so one known hang does not end the fuzzing of a
# target; every stop is counted. Built with `--sanitizer none` (Rust code: the sanitizer would
# halve the executions on these 2 cores) and with debug assertions and overflow checks on
# (fuzz/Cargo.toml's release profile). Environment: FUZZ_TIMEOUT (seconds per input, 10),
# FUZZ_RSS_MB (2048), FUZZ_BUILD=0 (run the targets as built, without rebuilding first).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/fuzz"
bin_dir="$fuzz/target/x86_64-unknown-linux-gnu/release"
record="$fuzz/runs.tsv"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-2048}"

# Target and the longest input worth trying: a spec is a line, a file format a few KiB (enough
# for every header and a few records; larger inputs only slow each execution down).
targets=(
  "noise_spec 256" "loss_spec 128" "token_noise 128"
  "idx_raw 4096" "idx_gz 4096" "png_folder 16384"
  "text_corpus 4096" "vocab_json 4096" "config_json 4096" "checkpoint 4096"
  "graph_files 4096" "graph_noise 256" "tabular_csv 4096"
  "wav 4096" "audio_noise 256"
)

max_len_of() {
  local t
  for t in "${targets[@]}"; do
    [[ "${t% *}" == "$1" ]] && { echo "${t#* }"; return; }
  done
  echo "unknown target: $1 (scripts/fuzz.sh --list)" >&2
  exit 2
}

build() {
  [[ "${FUZZ_BUILD:-1}" == 0 ]] && return
  (cd "$root" && cargo +nightly fuzz build --sanitizer none)
}

# Removes the scratch directories (fuzz/src/lib.rs: /dev/shm/dae-fuzz-<pid>) of ended processes.
clean_scratch() {
  local d pid
  for d in /dev/shm/dae-fuzz-*; do
    [[ -d "$d" ]] || continue
    pid="${d##*-}"
    kill -0 "$pid" 2>/dev/null || rm -rf "$d"
  done
}

# The number of crash/timeout/oom/leak files in a target's artifact folder.
artifacts() {
  find "$fuzz/artifacts/$1" -maxdepth 1 -type f \
    \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l
}

run_one() {
  local t="$1" secs="$2" max_len logs start now left execs=0 stops=0 rc e dict=()
  max_len="$(max_len_of "$t")"
  # A dictionary of the grammar's words and edge numbers, where the target has one.
  [[ -f "$fuzz/dicts/$t.dict" ]] && dict=(-dict="$fuzz/dicts/$t.dict")
  mkdir -p "$fuzz/corpus/$t" "$fuzz/artifacts/$t"
  logs="$(mktemp -d)"
  local before
  before="$(artifacts "$t")"
  start="$(date +%s)"
  left="$secs"
  while (( left > 0 )); do
    # -jobs=1 -workers=1: one child process on one core; it logs to fuzz-0.log in the cwd.
    rc=0
    (cd "$logs" && rm -f fuzz-0.log && "$bin_dir/$t" -jobs=1 -workers=1 \
      -max_total_time="$left" -max_len="$max_len" -rss_limit_mb="$rss_mb" \
      -timeout="$timeout_s" -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$fuzz/artifacts/$t/" "$fuzz/corpus/$t" >/dev/null 2>&1) || rc=$?
    e="$(grep -h 'stat::number_of_executed_units' "$logs/fuzz-0.log" | awk '{s+=$2} END {print s+0}')"
    if ! grep -q 'stat::number_of_executed_units' "$logs/fuzz-0.log"; then
      # A crash skips the final stats: take the last status line's count instead.
      e="$(grep -ao '^#[0-9]*' "$logs/fuzz-0.log" | tail -1 | tr -d '#')"
      e="${e:-0}"
    fi
    execs=$(( execs + e ))
    if grep -qE '^==[0-9]+== ERROR: libFuzzer|deadly signal|panicked at' "$logs/fuzz-0.log"; then
      stops=$(( stops + 1 ))
      grep -aE 'ERROR: libFuzzer|panicked at|Test unit written' "$logs/fuzz-0.log" | head -3 | sed "s/^/  $t: /"
    elif (( rc != 0 )); then
      echo "  $t: libFuzzer exited with $rc; log: $logs/fuzz-0.log" >&2
      break
    fi
    now="$(date +%s)"
    left=$(( secs - (now - start) ))
  done
  now="$(date +%s)"
  local wall=$(( now - start )) found corpus
  found=$(( $(artifacts "$t") - before ))
  corpus="$(find "$fuzz/corpus/$t" -type f | wc -l)"
  printf '%-12s %6ss %12s execs %9s/s  stops %d  new artifacts %d  corpus %d\n' \
    "$t" "$wall" "$execs" "$(( execs / (wall > 0 ? wall : 1) ))" "$stops" "$found" "$corpus"
  [[ -f "$record" ]] || printf 'date\ttarget\twall_s\texecutions\tstops\tnew_artifacts\tcorpus\tcommit\n' >"$record"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$t" "$wall" \
    "$execs" "$stops" "$found" "$corpus" "$(git -C "$root" rev-parse --short HEAD)" >>"$record"
  rm -rf "$logs"
  clean_scratch
}

merge_one() {
  local t="$1" max_len new
  max_len="$(max_len_of "$t")"
  new="$(mktemp -d)"
  "$bin_dir/$t" -merge=1 -max_len="$max_len" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
    "$new" "$fuzz/corpus/$t" >/dev/null 2>&1
  # The committed corpus stays small: the smallest of the merged inputs (libFuzzer already
  # prefers the shortest input for each feature) up to the budget; the rest is found again
  # within seconds of the next run.
  local budget=$(( ${FUZZ_CORPUS_KB:-40} * 1024 )) used=0 size f
  while read -r size f; do
    (( used + size > budget )) && { rm -f "$f"; continue; }
    used=$(( used + size ))
  done < <(find "$new" -type f -printf '%s %p\n' | sort -n)
  # Seeds and inputs kept for a fixed finding (named files; libFuzzer names what it finds by its
  # SHA-1) stay whether or not they still add coverage: the seeds are the valid examples.
  find "$fuzz/corpus/$t" -maxdepth 1 -type f -regextype posix-extended \
    ! -regex '.*/[0-9a-f]{40}' -exec cp {} "$new/" \;
  echo "$t: $(find "$fuzz/corpus/$t" -type f | wc -l) -> $(find "$new" -type f | wc -l) inputs"
  rm -rf "$fuzz/corpus/$t"
  mv "$new" "$fuzz/corpus/$t"
  chmod 755 "$fuzz/corpus/$t"
  clean_scratch
}

names=()
for t in "${targets[@]}"; do names+=("${t% *}"); done

case "${1:-}" in
  --list)
    printf '%s\n' "${targets[@]}"
    ;;
  --summary)
    awk -F'\t' 'NR > 1 { e[$2] += $4; w[$2] += $3; s[$2] += $5; a[$2] += $6; n[$2]++ }
      END { printf "%-12s %6s %14s %8s %6s %9s\n", "target", "runs", "executions", "wall_s", "stops", "artifacts"
            for (t in e) printf "%-12s %6d %14d %8d %6d %9d\n", t, n[t], e[t], w[t], s[t], a[t] }' "$record"
    ;;
  --merge)
    shift
    build
    for t in "${@:-${names[@]}}"; do merge_one "$t"; done
    ;;
  *)
    secs="${1:-60}"
    [[ $# -gt 0 ]] && shift
    [[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...] | --merge [TARGET...] | --list" >&2; exit 2; }
    build
    for t in "${@:-${names[@]}}"; do
      max_len_of "$t" >/dev/null
      run_one "$t" "$secs"
    done
    ;;
esac
