#!/usr/bin/env bash
# The long kill loop of issue 16: `dae train` SIGKILLed at 60 random instants (or $1), resumed
# each time, compared with an uninterrupted run (crates/dae-cli/tests/kill_loop.rs; CI runs 12).
set -euo pipefail
cd "$(dirname "$0")/.."
DAE_KILL_LOOP_KILLS="${1:-60}" cargo test --release -p dae-cli --test kill_loop -- --nocapture
