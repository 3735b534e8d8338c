#!/usr/bin/env bash
# Benchmark: safetynet against DuckDB, stage by stage, each side doing a stated job.
#
#   benches/run.sh [RECORDS...]          default: 1000000 10000000
#
# Environment:
#   RUNS    runs of each stage; the table shows medians      (default 3)
#   BIN     the safetynet binary, built with --release       (default target/release/safetynet)
#   WORK    scratch directory: data, stores, venv, results   (default target/bench)
#   CHECK   1: after timing, verify that both sides computed the same query
#           results and the same store (not timed); 0: skip (default 1)
#   DUCKDB  pip requirement for the DuckDB side              (default "duckdb>=1.3")
#   TIMER   "python" forces the fallback timer used when /usr/bin/time is missing
#
# Rows of the table (benches/README.md says exactly what each side does):
#   (a1) ingest      vs DuckDB's plain COPY of the CSV to Parquet (no validation: a floor)
#   (a2) ingest      vs DuckDB doing the project's validation and classification in SQL
#   (b)  each report query, the same SQL text with the same parameters, both engines
#        reading the same Parquet files (our store's, listed by its manifest)
#   (c)  the full `report` (disclosure control, charts, workbook ...) beside (b)
#   (d)  classify    vs a DuckDB COPY of our store (read all, write all: what classify does at least)
#   (d+) classify    vs DuckDB's classification SQL over its own store (extra)
#
# Each measured process runs under /usr/bin/time, so the time is wall-clock
# and the memory the operating system's peak resident set size. Within a run
# the stages alternate: ours, then DuckDB's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
RUNS=${RUNS:-3}
BIN=${BIN:-target/release/safetynet}
WORK=${WORK:-target/bench}
CHECK=${CHECK:-1}
DUCKDB=${DUCKDB:-duckdb>=1.3}
if [ "$#" -gt 0 ]; then SIZES=("$@"); else SIZES=(1000000 10000000); fi

die() { echo "benches/run.sh: $*" >&2; exit 2; }

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for n in "${SIZES[@]}"; do [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "record counts must be positive integers, not '$n'"; done
[ -x "$BIN" ] || die "no safetynet binary at $BIN: run 'cargo build --release' or set BIN"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ---- the timer: GNU time, or a python wrapper with the same two numbers ----
if [ "${TIMER:-}" != python ] && /usr/bin/time -f "%e %M" -o /dev/null true 2>/dev/null; then
    TIMER=gnu
else
    TIMER=python
    echo "note: /usr/bin/time (Debian package 'time') is missing; timing with python's resource module instead" >&2
fi

# timed OUTFILE LOG CMD...: runs CMD, writes "seconds peak_kb" to OUTFILE, CMD's output to LOG
timed() {
    local out=$1 log=$2; shift 2
    local rc=0
    if [ "$TIMER" = gnu ]; then
        /usr/bin/time -f "%e %M" -o "$out" "$@" >"$log" 2>&1 || rc=$?
    else
        python3 - "$out" "$@" >"$log" 2>&1 <<'PY' || rc=$?
import resource, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t = time.monotonic()
rc = subprocess.call(cmd)
elapsed = time.monotonic() - t
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB on Linux
with open(out, "w") as f:
    f.write(f"{elapsed:.2f} {peak_kb}\n")
sys.exit(rc)
PY
    fi
    if [ "$rc" -ne 0 ]; then
        echo "FAILED (exit $rc): $*" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
}

# record TOOL STAGE RUN: appends the last measurement (in $logs/t) to the raw TSV
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" $(cat "$logs/t") >>"$raw"; }

# record_statements LOG PREFIX RUN: appends the per-query seconds that a
# DuckDB `queries` process printed (its last JSON line) as stages PREFIX:NN,
# timed inside that process, so with no peak of their own
record_statements() {
    local statements q s
    statements=$(duckdb_statement_seconds "$1") || die "no statement times in $1"
    while IFS=$'\t' read -r q s; do
        printf 'duckdb\t%s:%s\t%s\t%s\t\n' "$2" "$q" "$3" "$s" >>"$raw"
    done <<<"$statements"
}

# ---- the DuckDB side: a virtual environment with the duckdb package ----
PY=$WORK/venv/bin/python
if ! "$PY" -c 'import duckdb, tomllib' 2>/dev/null; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "python3 >= 3.11 is needed (tomllib); found $(python3 --version 2>&1)"
    echo "creating $WORK/venv and installing $DUCKDB ..." >&2
    rm -rf "$WORK/venv"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install --quiet --disable-pip-version-check "$DUCKDB"
fi
DUCKDB_VERSION=$("$PY" -c 'import duckdb; print(duckdb.__version__)')
PIPELINE=$REPO/benches/duckdb_pipeline.py
# shared with ab_queries.sh: how each side's statement times are read
. "$REPO/benches/statements.sh"

# ---- rules copies with a changed version, so that `classify` really reclassifies ----
for r in $(seq 1 "$RUNS"); do
    sed "s/^version = \".*\"/version = \"bench-run-$r\"/" rules/rules.toml >"$WORK/rules-run$r.toml"
    grep -q "^version = \"bench-run-$r\"" "$WORK/rules-run$r.toml" || die "could not set the version in a copy of rules/rules.toml"
done

# ---- the report's queries, rewritten once, the same text for both engines ----
# every queries/*.sql without a `-- requires:` line; protected_count( and
# published_count( become count( (what they are for unit victims); see
# prepare_sql in duckdb_pipeline.py
SQL=$WORK/sql
"$PY" "$PIPELINE" prepare-sql --out "$SQL" >"$WORK/prepare-sql.json"
QUERIES=()
for q in "$SQL"/*.sql; do QUERIES+=("$(basename "$q" .sql)"); done
[ "${#QUERIES[@]}" -gt 0 ] || die "no query files in $SQL"

MACHINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || echo 'unknown CPU')"
OURS_VERSION=$("$BIN" --version)
STATUS=0  # 1 once a check finds a mismatch: the script then exits 1 after writing every table

for n in "${SIZES[@]}"; do
    csv=$WORK/$n.csv
    raw=$WORK/raw-$n.tsv
    logs=$WORK/logs-$n
    rm -rf "$logs"; mkdir -p "$logs"
    echo "== $n records ==" >&2
    if [ ! -s "$csv" ]; then
        echo "generating $csv ..." >&2
        partial=$WORK/partial-$n.csv
        "$BIN" --quiet generate --records "$n" --seed 1 --countries US,MX,CA --replace --out "$partial" >"$logs/generate.log" 2>&1 \
            || { cat "$logs/generate.log" >&2; die "generate failed"; }
        mv "$partial" "$csv"
    fi
    printf 'tool\tstage\trun\tseconds\tpeak_kb\n' >"$raw"
    store=$WORK/store-$n              # ours; the (b) queries of both sides read its files
    duck=$WORK/duckdb-$n              # DuckDB's validated ingest: store/, quarantine.csv
    plain=$WORK/duckdb-plain-$n       # (a1) DuckDB's plain COPY of the CSV
    storecopy=$WORK/duckdb-copy-$n    # (d) DuckDB's COPY of our store
    tables=$WORK/tables-$n            # (b) the query results of the last run, safetynet/ and duckdb/
    for r in $(seq 1 "$RUNS"); do
        rules=$WORK/rules-run$r.toml
        rm -rf "$store" "$WORK/report-$n" "$duck" "$plain" "$storecopy" "$tables"
        mkdir -p "$tables/safetynet"

        # (a) ingest: ours into a fresh store; DuckDB's plain COPY; DuckDB's validated ingest
        timed "$logs/t" "$logs/ours-ingest-$r.log" "$BIN" --quiet ingest --store "$store" "$csv"
        record safetynet ingest "$r"
        timed "$logs/t" "$logs/duckdb-copy-csv-$r.log" "$PY" "$PIPELINE" copy-csv --csv "$csv" --workdir "$plain"
        record duckdb copy-csv "$r"
        timed "$logs/t" "$logs/duckdb-ingest-$r.log" "$PY" "$PIPELINE" ingest --csv "$csv" --workdir "$duck" --rules "$rules"
        record duckdb ingest "$r"

        # (b) the queries over the files of our fresh store, the report's years
        # (untimed look-up: the store's first and last year, as `report` takes them)
        years=$("$BIN" --quiet query --store "$store" --format csv "SELECT min(year) AS y1, max(year) AS y2 FROM cases" | tail -n 1)
        y1=${years%,*}; y2=${years#*,}
        [[ "$y1" =~ ^[0-9]{4}$ && "$y2" =~ ^[0-9]{4}$ ]] || die "could not read the store's years (got '$years')"
        for q in "${QUERIES[@]}"; do
            timed "$logs/t" "$logs/ours-query-$q-$r.log" "$BIN" --quiet query --store "$store" --format csv \
                --file "$SQL/$q.sql" --from "$y1" --to "$y2" --output "$tables/safetynet/$q.csv" --timing
            record safetynet "query:$q" "$r"
            # the statement alone, timed inside the process (`--timing`), as
            # DuckDB's per-query figure is
            inside=$(ours_statement_seconds "$logs/ours-query-$q-$r.log") || die "no statement time"
            printf 'safetynet\tquery-in-process:%s\t%s\t%s\t\n' "$q" "$r" "$inside" >>"$raw"
        done
        # DuckDB: one process for all queries; its per-query times are in the JSON line it prints
        timed "$logs/t" "$logs/duckdb-queries-$r.log" "$PY" "$PIPELINE" queries --store "$store" --sql "$SQL" \
            --out "$tables/duckdb" --from-year "$y1" --to-year "$y2"
        record duckdb queries-all "$r"
        record_statements "$logs/duckdb-queries-$r.log" query "$r"
        # and each query in a process of its own, as ours run: the statement
        # timed inside a fresh process (query-cold), and that process
        # (query-process, with its peak memory)
        for q in "${QUERIES[@]}"; do
            timed "$logs/t" "$logs/duckdb-query-$q-$r.log" "$PY" "$PIPELINE" queries --store "$store" --sql "$SQL" \
                --out "$tables/duckdb-one" --from-year "$y1" --to-year "$y2" --only "$q"
            record duckdb "query-process:$q" "$r"
            record_statements "$logs/duckdb-query-$q-$r.log" query-cold "$r"
        done

        # (c) our whole report over the same store
        timed "$logs/t" "$logs/ours-report-$r.log" "$BIN" --quiet report --store "$store" --out "$WORK/report-$n"
        record safetynet report "$r"

        # (d) classify last (it rewrites our store); then DuckDB's COPY of the
        # store as classify left it (the files its manifest lists now: the
        # same partitions, one file each, as before classify)
        timed "$logs/t" "$logs/ours-classify-$r.log" "$BIN" --quiet classify --store "$store" --rules "$rules"
        record safetynet classify "$r"
        timed "$logs/t" "$logs/duckdb-copy-store-$r.log" "$PY" "$PIPELINE" copy-store --store "$store" --workdir "$storecopy"
        record duckdb copy-store "$r"
        # (d+) extra: DuckDB's classification SQL over its own validated store
        timed "$logs/t" "$logs/duckdb-classify-$r.log" "$PY" "$PIPELINE" classify --workdir "$duck" --rules "$rules"
        record duckdb classify "$r"

        # what starting the process alone costs (in every process figure)
        timed "$logs/t" "$logs/ours-start-$r.log" "$BIN" --version
        record safetynet start "$r"
        timed "$logs/t" "$logs/duckdb-start-$r.log" "$PY" -c 'import duckdb, tomllib; duckdb.connect()'
        record duckdb start "$r"
        echo "  run $r of $RUNS done" >&2
    done

    # ---- same work? (not timed) ----
    # the query CSVs of the last run, cell by cell; our store (classified with
    # the last run's rules) against DuckDB's validated store (reclassified with
    # the same rules), record by record, every column
    check_json=none
    if [ "$CHECK" != 0 ]; then
        check_json=$logs/check.json
        check_rc=0
        "$PY" "$PIPELINE" check --ours-store "$store" --duckdb-store "$duck/store" \
            --ours-tables "$tables/safetynet" --duckdb-tables "$tables/duckdb" >"$check_json" 2>"$logs/check.log" || check_rc=$?
        if [ "$check_rc" -ne 0 ]; then
            if [ ! -s "$check_json" ]; then cat "$logs/check.log" >&2; die "the check could not run"; fi
            STATUS=1
            echo "WARNING: MISMATCH between the two sides at $n records, see $check_json" >&2
        fi
    fi

    # ---- the table: medians over the runs ----
    "$PY" "$REPO/benches/make_table.py" --raw "$raw" --records "$n" --runs "$RUNS" --out "$WORK/results-$n.md" \
        --ours-version "$OURS_VERSION" --duckdb-version "$DUCKDB_VERSION" --machine "$MACHINE" \
        --check "$check_json" --timer "$TIMER" --years "$y1-$y2" --logs "$logs"
    echo "(written to $WORK/results-$n.md; every run in $raw, logs in $logs/)" >&2
done
exit "$STATUS"
