#!/usr/bin/env bash
# Bounded fuzzing of the input path (CSV reader, encodings, mapping,
# validation): the property tests of tests/it/fuzz_input.rs with many more
# cases, stopped after a time limit. A failure prints the smallest input
# proptest could shrink it to.
#
#   scripts/fuzz.sh [SECONDS] [CASES]     (defaults: 300 s, 20000 cases)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_LIMIT="${1:-300}"
CASES="${2:-20000}"
cargo test --test it --no-run
status=0
PROPTEST_CASES="$CASES" timeout --preserve-status "$SECONDS_LIMIT" \
  cargo test --test it fuzz_input -- --nocapture || status=$?
if [ "$status" -eq 143 ]; then
  echo "fuzz: time limit of ${SECONDS_LIMIT}s reached with no failure"
  exit 0
fi
exit "$status"
