#!/usr/bin/env bash
# Before and after of a change to report queries, engine against engine,
# interleaved on one store: how the figures in queries/README.md were taken.
#
#   benches/ab_queries.sh STORE BEFORE_DIR AFTER_DIR
#
# BEFORE_DIR and AFTER_DIR hold .sql files with the same names (say, the
# queries of the last commit, `git show HEAD:queries/F.sql`, and queries/).
# Both are rewritten as the benchmark rewrites them (duckdb_pipeline.py
# prepare-sql: protected_count( and published_count( become count( ), so that
# both engines run the same text. Then, ROUNDS times, before and after in
# turn, every query in a fresh process on each side: our `safetynet query
# --file --timing` and DuckDB's `duckdb_pipeline.py queries --only NAME`.
# What is timed is what run.sh's per-query rows time: the statement alone,
# inside its process (ours as `--timing` says, from planning to the last row
# collected; DuckDB's from execute to the last row fetched), not the
# process's start or the writing of the CSV. Prints each query's range and
# median per engine and side, and our time over DuckDB's after the change;
# fails when an engine's table after differs from its table before.
#
# Until 2026-12-06 this script timed our whole process (/usr/bin/time,
# start included) against DuckDB's statements in one process for all: the
# before-and-after figures of queries/README.md from before that date were
# taken that way, and compare ours with ours and DuckDB's with DuckDB's.
#
# Environment:
#   ROUNDS  interleaved rounds                        (default 3)
#   BIN     the safetynet binary, built with --release (default target/release/safetynet)
#   WORK    scratch directory; its venv is run.sh's   (default target/bench)
#   FROM, TO  the years the queries select            (default 2015, 2024)
set -euo pipefail

# the arguments as given from the caller's folder, before moving to the repository's
absolute=()
for arg in "$@"; do absolute+=("$(realpath -m -- "$arg")"); done
set -- "${absolute[@]}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
ROUNDS=${ROUNDS:-3}
BIN=${BIN:-target/release/safetynet}
WORK=${WORK:-target/bench}
FROM=${FROM:-2015}
TO=${TO:-2024}
PY=$WORK/venv/bin/python
PIPELINE=$REPO/benches/duckdb_pipeline.py
# shared with run.sh: how each side's statement times are read
. "$REPO/benches/statements.sh"

die() { echo "benches/ab_queries.sh: $*" >&2; exit 2; }
[ "$#" -eq 3 ] || die "usage: benches/ab_queries.sh STORE BEFORE_DIR AFTER_DIR"
STORE=$1 BEFORE=$2 AFTER=$3
[ -f "$STORE/manifest.json" ] || die "$STORE is not a safetynet store (no manifest.json)"
[ -d "$BEFORE" ] && [ -d "$AFTER" ] || die "$BEFORE and $AFTER must be directories of .sql files"
[ -x "$BIN" ] || die "no safetynet binary at $BIN: run 'cargo build --release' or set BIN"
[ -x "$PY" ] || die "no $PY: run benches/run.sh once (it creates the venv with DuckDB), or set WORK"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not '$ROUNDS'"

OUT=$WORK/ab-queries
rm -rf "$OUT"; mkdir -p "$OUT"
times=$OUT/times.tsv
: >"$times"
for side in before after; do
    dir=$BEFORE; [ "$side" = after ] && dir=$AFTER
    "$PY" "$PIPELINE" prepare-sql --queries "$dir" --out "$OUT/sql-$side" >/dev/null
done
for round in $(seq 1 "$ROUNDS"); do
    for side in before after; do
        mkdir -p "$OUT/ours-$side" "$OUT/duckdb-$side"
        for sql in "$OUT/sql-$side"/*.sql; do
            name=$(basename "$sql" .sql)
            rm -f "$OUT/ours-$side/$name.csv"
            "$BIN" --quiet query --store "$STORE" --format csv --file "$sql" --from "$FROM" --to "$TO" \
                --output "$OUT/ours-$side/$name.csv" --timing >/dev/null 2>"$OUT/log" ||
                { cat "$OUT/log" >&2; die "$side/$name.sql failed"; }
            seconds=$(ours_statement_seconds "$OUT/log") || die "no statement time from $side/$name.sql"
            printf 'ours\t%s\t%s\t%s\n' "$side" "$name" "$seconds" >>"$times"
            # DuckDB's statement in a process of its own, as ours runs; its
            # stage empties its --out folder, so each query writes to a
            # scratch folder and its table is kept from there
            "$PY" "$PIPELINE" queries --store "$STORE" --sql "$OUT/sql-$side" --out "$OUT/duckdb-one" \
                --from-year "$FROM" --to-year "$TO" --only "$name" >"$OUT/log" 2>&1 ||
                { cat "$OUT/log" >&2; die "DuckDB: $side/$name.sql failed"; }
            cp "$OUT/duckdb-one/$name.csv" "$OUT/duckdb-$side/$name.csv"
            statements=$(duckdb_statement_seconds "$OUT/log") || die "no statement time from DuckDB's $side/$name.sql"
            while IFS=$'\t' read -r statement statement_seconds; do
                printf 'duckdb\t%s\t%s\t%s\n' "$side" "$statement" "$statement_seconds" >>"$times"
            done <<<"$statements"
        done
    done
    echo "round $round of $ROUNDS done" >&2
done

"$PY" - "$times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    engine, side, name, seconds = line.split("\t")
    runs.setdefault((engine, side, name[:2]), []).append(float(seconds))
def cell(xs):
    return f"{min(xs):.3f}–{max(xs):.3f} ({statistics.median(xs):.3f})"
print("| query | ours before | ours after | DuckDB before | DuckDB after | ours/DuckDB after |")
print("|---|---|---|---|---|---|")
for q in sorted({k[2] for k in runs}):
    ratio = statistics.median(runs[("ours", "after", q)]) / statistics.median(runs[("duckdb", "after", q)])
    print(f"| {q} | " + " | ".join(cell(runs[(e, s, q)]) for e in ("ours", "duckdb") for s in ("before", "after"))
          + f" | {ratio:.2f} |")
PY

status=0
for engine in ours duckdb; do
    for table in "$OUT/$engine-before"/*.csv; do
        if ! cmp -s "$table" "$OUT/$engine-after/$(basename "$table")"; then
            echo "$engine: $(basename "$table") differs before and after" >&2
            status=1
        fi
    done
done
[ "$status" -eq 0 ] && echo "every table the same before and after, on each engine" >&2
exit "$status"
