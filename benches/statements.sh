# Reading the statement times that both sides print, for run.sh and
# ab_queries.sh (sourced, not run): one place that knows the two forms.
# Each needs $PY, a Python 3 (the benchmark's venv).

# ours_statement_seconds LOG: the seconds of our `query --timing` line
# ("query took N s (...)") in LOG; fails when there is none.
ours_statement_seconds() {
    local seconds
    seconds=$(sed -n 's/^query took \([0-9.]*\) s.*/\1/p' "$1")
    [ -n "$seconds" ] || { echo "no 'query took' line in $1" >&2; return 1; }
    echo "$seconds"
}

# duckdb_statement_seconds LOG: "NAME<TAB>SECONDS" for each statement a
# DuckDB `duckdb_pipeline.py queries` process timed, from the last line of
# LOG that starts with "{" (its JSON result, whatever else it printed).
duckdb_statement_seconds() {
    "$PY" - "$1" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith("{")]
if not lines:
    sys.exit(f"no JSON result line in {sys.argv[1]}")
for name, seconds in json.loads(lines[-1])["seconds"].items():
    print(f"{name}\t{seconds}")
PY
}
