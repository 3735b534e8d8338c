#!/bin/bash
# reads_beside_changes.sh BIN SECONDS
# Counts a 12,000-record store with `query` over and over for SECONDS while
# `classify` rewrites the same store in a loop, and prints how often each
# answer came. Every answer should be 12000: any other number is a reader
# that saw a generation with files missing (see "Readers keep what they
# read" in the README). Not part of the tests: it measures a race.
set -u
BIN=$1; T=$2; D=$(mktemp -d)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
$BIN --quiet generate --records 12000 --seed 1 --countries US,MX,CA,GB --out $D/in.csv >/dev/null 2>&1
$BIN --quiet ingest --store $D/store $D/in.csv >/dev/null
sed 's/version = "2026.12.1"/version = "a"/' $ROOT/rules/rules.toml > $D/a.toml
sed 's/version = "2026.12.1"/version = "b"/' $ROOT/rules/rules.toml > $D/b.toml
( end=$((SECONDS+T)); i=0; while [ $SECONDS -lt $end ]; do i=$((i+1)); r=$([ $((i%2)) = 0 ] && echo a || echo b); $BIN --quiet classify --store $D/store --rules $D/$r.toml >/dev/null 2>&1; done ) &
end=$((SECONDS+T))
while [ $SECONDS -lt $end ]; do
  out=$($BIN --quiet query --store $D/store --format csv "SELECT count(*) AS n FROM cases" 2>&1 | tail -1 | head -c 80); echo "$out"
done | sort | uniq -c
wait; rm -rf $D
