#!/usr/bin/env bash
# Benchmark: safetynet against DuckDB doing the same work, stage by stage.
#
#   benches/run.sh [RECORDS...]          default: 1000000 10000000
#
# Environment:
#   RUNS    runs of each stage; the table shows medians      (default 3)
#   BIN     the safetynet binary, built with --release       (default target/release/safetynet)
#   WORK    scratch directory: data, stores, venv, results   (default target/bench)
#   CHECK   1: after timing, verify that both sides produced the same store and
#           the same tables (not timed); 0: skip              (default 1)
#   DUCKDB  pip requirement for the DuckDB side              (default "duckdb>=1.3")
#   TIMER   "python" forces the fallback timer used when /usr/bin/time is missing
#
# Each stage of each run is its own process under /usr/bin/time, so the time is
# wall-clock and the memory is the operating system's peak resident set size.
# See benches/README.md for what each stage does on each side.
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

# ---- rules copies with a changed version, so that `classify` really reclassifies ----
for r in $(seq 1 "$RUNS"); do
    sed "s/^version = \".*\"/version = \"bench-run-$r\"/" rules/rules.toml >"$WORK/rules-run$r.toml"
    grep -q "^version = \"bench-run-$r\"" "$WORK/rules-run$r.toml" || die "could not set the version in a copy of rules/rules.toml"
done

MACHINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || echo 'unknown CPU')"
OURS_VERSION=$("$BIN" --version)

for n in "${SIZES[@]}"; do
    csv=$WORK/$n.csv
    raw=$WORK/raw-$n.tsv
    logs=$WORK/logs-$n
    rm -rf "$logs"; mkdir -p "$logs"
    echo "== $n records ==" >&2
    if [ ! -s "$csv" ]; then
        echo "generating $csv ..." >&2
        partial=$WORK/partial-$n.csv
        "$BIN" --quiet generate --records "$n" --seed 1 --countries US,MX,CA --out "$partial" >"$logs/generate.log" 2>&1 \
            || { cat "$logs/generate.log" >&2; die "generate failed"; }
        mv "$partial" "$csv"
    fi
    printf 'tool\tstage\trun\tseconds\tpeak_kb\n' >"$raw"
    store=$WORK/store-$n
    duck=$WORK/duckdb-$n
    for r in $(seq 1 "$RUNS"); do
        rules=$WORK/rules-run$r.toml
        # ours: ingest (validates, classifies and stores) into a fresh store,
        # reclassify the whole store, write the full report
        rm -rf "$store" "$WORK/report-$n"
        timed "$logs/t" "$logs/ours-ingest-$r.log" "$BIN" --quiet ingest --store "$store" "$csv"
        printf 'safetynet\tingest\t%s\t%s\t%s\n' "$r" $(cat "$logs/t") >>"$raw"
        timed "$logs/t" "$logs/ours-classify-$r.log" "$BIN" --quiet classify --store "$store" --rules "$rules"
        printf 'safetynet\tclassify\t%s\t%s\t%s\n' "$r" $(cat "$logs/t") >>"$raw"
        timed "$logs/t" "$logs/ours-report-$r.log" "$BIN" --quiet report --store "$store" --out "$WORK/report-$n"
        printf 'safetynet\treport\t%s\t%s\t%s\n' "$r" $(cat "$logs/t") >>"$raw"
        # DuckDB: the same three stages, each its own python process
        rm -rf "$duck"
        for stage in ingest classify report; do
            timed "$logs/t" "$logs/duckdb-$stage-$r.log" "$PY" "$PIPELINE" "$stage" "$csv" "$duck" --rules "$rules"
            printf 'duckdb\t%s\t%s\t%s\t%s\n' "$stage" "$r" $(cat "$logs/t") >>"$raw"
        done
        # what starting the process alone costs (included in every figure)
        timed "$logs/t" "$logs/ours-start-$r.log" "$BIN" --version
        printf 'safetynet\tstart\t%s\t%s\t%s\n' "$r" $(cat "$logs/t") >>"$raw"
        timed "$logs/t" "$logs/duckdb-start-$r.log" "$PY" -c 'import duckdb, tomllib; duckdb.connect()'
        printf 'duckdb\tstart\t%s\t%s\t%s\n' "$r" $(cat "$logs/t") >>"$raw"
        echo "  run $r of $RUNS done" >&2
    done

    # ---- same work? (not timed) ----
    check_line="not checked (CHECK=0)"
    if [ "$CHECK" != 0 ]; then
        ours_tables=$WORK/check-$n
        rm -rf "$ours_tables"; mkdir -p "$ours_tables"
        for q in queries/*.sql; do
            grep -q '^--[[:space:]]*requires:' "$q" && continue
            "$BIN" --quiet query --store "$store" --format csv --file "$q" >"$ours_tables/$(basename "$q" .sql).csv" 2>>"$logs/check.log"
        done
        if "$PY" "$PIPELINE" check "$csv" "$duck" --ours-store "$store" --ours-tables "$ours_tables" >"$logs/check.json" 2>>"$logs/check.log"; then
            check_line="both stores hold the same $n records, identical in every column (classification included), and all $(ls "$ours_tables" | wc -l) query tables are identical (safetynet query, before disclosure control, vs DuckDB)"
        else
            check_line="MISMATCH between the two sides, see $logs/check.json"
            echo "WARNING: $check_line" >&2
        fi
    fi

    # ---- the table: medians over the runs ----
    "$PY" - "$raw" "$n" "$RUNS" "$WORK/results-$n.md" "$OURS_VERSION" "$DUCKDB_VERSION" "$MACHINE" "$check_line" "$TIMER" <<'PY'
import csv, statistics, sys
raw, n, runs, out, ours_v, duck_v, machine, check, timer = sys.argv[1:]
rows = list(csv.DictReader(open(raw), delimiter="\t"))
def med(tool, stage, key):
    vals = [float(r[key]) for r in rows if r["tool"] == tool and r["stage"] == stage]
    return statistics.median(vals)
stages = [("ingest", "ingest"), ("classify", "classify"), ("report", "report")]
lines = [
    "| stage | records | safetynet s | DuckDB s | ratio | safetynet peak MB | DuckDB peak MB |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for stage, label in stages:
    ot, dt = med("safetynet", stage, "seconds"), med("duckdb", stage, "seconds")
    om, dm = med("safetynet", stage, "peak_kb") / 1024, med("duckdb", stage, "peak_kb") / 1024
    ratio = f"{ot / dt:.2f}" if dt > 0 else "n/a"
    lines.append(f"| {label} | {int(n):,} | {ot:.2f} | {dt:.2f} | {ratio} | {om:.0f} | {dm:.0f} |")
notes = [
    "",
    f"Median of {runs} run(s) per stage; ratio = safetynet time / DuckDB time (above 1: DuckDB faster). "
    "Wall-clock seconds and peak resident memory (max RSS) of the whole process, process start included, "
    + ("from /usr/bin/time." if timer == "gnu" else "from python's resource module (/usr/bin/time missing)."),
    "ingest: the generated CSV into a fresh store: validated, de-duplicated, classified, written as Parquet "
    "partitioned by country and year. classify: the whole store reclassified with a rules file of another version "
    "and written again. report: the queries of queries/ over the store; ours also does disclosure control, "
    "charts (SVG, PNG), the XLSX workbook, HTML and Markdown, and the audit.",
    f"{ours_v}; DuckDB {duck_v} (Python); {machine}.",
    f"Starting the process alone (in every figure above): safetynet {med('safetynet', 'start', 'seconds'):.2f} s, "
    f"{med('safetynet', 'start', 'peak_kb') / 1024:.0f} MB; python with duckdb imported "
    f"{med('duckdb', 'start', 'seconds'):.2f} s, {med('duckdb', 'start', 'peak_kb') / 1024:.0f} MB.",
    "DuckDB has no disclosure control, chart, workbook or HTML step: its report stage only writes the query results as CSV.",
    f"Same work: {check}.",
]
text = "\n".join(lines + notes) + "\n"
open(out, "w").write(text)
print(text)
PY
    echo "(written to $WORK/results-$n.md; every run in $raw, logs in $logs/)" >&2
done
