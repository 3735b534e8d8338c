#!/usr/bin/env python3
"""The results table of benches/run.sh: medians of the raw measurements
(raw-N.tsv: tool, stage, run, seconds, peak_kb) as markdown, with notes that
say what each side does in each row, and the outcome of the check.

Standard library only; run by benches/run.sh, not meant to be run by hand.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import statistics
from collections import defaultdict
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    for name in ("raw", "records", "runs", "out", "ours-version", "duckdb-version", "machine",
                 "check", "timer", "years", "logs"):
        ap.add_argument("--" + name, required=True)
    a = ap.parse_args()
    n = int(a.records)

    rows = list(csv.DictReader(open(a.raw, encoding="utf-8"), delimiter="\t"))
    seconds, peaks = defaultdict(list), defaultdict(list)
    per_run = defaultdict(lambda: defaultdict(list))  # (tool, run) -> stage -> values
    for r in rows:
        seconds[(r["tool"], r["stage"])].append(float(r["seconds"]))
        if r["peak_kb"]:
            peaks[(r["tool"], r["stage"])].append(float(r["peak_kb"]))
        per_run[(r["tool"], r["run"])][r["stage"]].append((float(r["seconds"]), float(r["peak_kb"] or 0)))

    # safetynet's "all report queries": per run, the sum of its query
    # processes' times and the largest of their peaks; then the median.
    # Both sides' "all queries, in-process": per run, the sum of the
    # statements timed inside the process (ours: `query --timing`; DuckDB's:
    # from execute to the last row fetched)
    for (tool, run), stages in per_run.items():
        inside = "query-in-process:" if tool == "safetynet" else "query-cold:"
        statements = [t for s, vs in stages.items() if s.startswith(inside) for t, _ in vs]
        if statements:
            seconds[(tool, "queries-in-process")].append(sum(statements))
        if tool != "safetynet":
            continue
        qs = [v for s, vs in stages.items() if s.startswith("query:") for v in vs]
        if qs:
            seconds[("safetynet", "queries-all")].append(sum(t for t, _ in qs))
            peaks[("safetynet", "queries-all")].append(max(m for _, m in qs))

    def t(tool, stage):
        v = seconds.get((tool, stage))
        return statistics.median(v) if v else None

    def m(tool, stage):
        v = peaks.get((tool, stage))
        return statistics.median(v) / 1024 if v else None

    def fmt_s(x):
        if x is None:
            return "–"
        if x == 0:
            return "<0.01"  # a process under /usr/bin/time's resolution
        if x < 0.01:
            return f"{x:.4f}"  # timed inside a process, to the microsecond
        return f"{x:.3f}" if x < 1 else f"{x:.2f}"

    def fmt_mb(x):
        return "–" if x is None else f"{x:.0f}"

    lines = [
        "| stage | records | safetynet s | DuckDB s | ratio | safetynet peak MB | DuckDB peak MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def row(label, ours_stage, duck_stage, ours_peak_stage=None, duck_peak_stage=None, duck_peak=True):
        """A table row; the peaks are those of the stages named (by default
        the timed ones); duck_peak=False when no DuckDB process is that row's."""
        ot, dt = t("safetynet", ours_stage), t("duckdb", duck_stage)
        ratio = f"{ot / dt:.2f}" if ot is not None and dt else "n/a"
        dm = m("duckdb", duck_peak_stage or duck_stage) if duck_peak else None
        lines.append(f"| {label} | {n:,} | {fmt_s(ot)} | {fmt_s(dt)} | {ratio} | "
                     f"{fmt_mb(m('safetynet', ours_peak_stage or ours_stage))} | {fmt_mb(dm)} |")

    queries = sorted({s.split(":", 1)[1] for (_, s) in seconds if s.startswith("query:")})
    row("(a1) ingest vs DuckDB plain COPY of the CSV (no validation)", "ingest", "copy-csv")
    row("(a2) ingest vs DuckDB validated ingest", "ingest", "ingest")
    for q in queries:
        row(f"(b) query {q}", f"query-in-process:{q}", f"query-cold:{q}", ours_peak_stage=f"query:{q}",
            duck_peak_stage=f"query-process:{q}")
    row("(b) all report queries, the statements (each run's sum; median over runs)", "queries-in-process",
        "queries-in-process", ours_peak_stage="queries-all", duck_peak=False)
    row("(b) all report queries, whole processes", "queries-all", "queries-all")
    row("(c) full report vs DuckDB: the (b) all-queries process", "report", "queries-all")
    row("(d) classify vs DuckDB COPY of the store", "classify", "copy-store")
    row("(d+) classify vs DuckDB classification SQL (extra)", "classify", "classify")

    # ---- the check ----
    check_lines, ok = [], None
    if a.check == "none":
        check_lines.append("Same work: **not checked** (CHECK=0).")
    else:
        c = json.loads(Path(a.check).read_text(encoding="utf-8"))
        ok = c["ok"]
        tables = c.get("tables", {})
        same = [q for q, v in tables.items() if v == "same"]
        if c.get("tables_ok"):
            check_lines.append(f"Check (b), query results: **all {len(same)} queries identical** on both sides "
                               "(every cell, numbers compared after writing them one way: 12.30 = 12.3, 100.0 = 100).")
        else:
            check_lines.append("Check (b), query results: **MISMATCH**. Per query:")
            for q, v in tables.items():
                if v == "same":
                    check_lines.append(f"- {q}: same")
                else:
                    check_lines.append(f"- {q}: **differs**: {json.dumps(v, ensure_ascii=False)}")
        s = c.get("store")
        if s is not None:
            if c.get("store_ok"):
                n_class = s.get("records_classified_differently", 0)
                check_lines.append(
                    f"Check (a2)/(d+), stores: our store and DuckDB's validated store hold the same "
                    f"{s['safetynet_records']:,} records, identical in every validated column. "
                    + ("Classification identical too." if n_class == 0 else
                       f"Classification: {n_class:,} records ({100.0 * n_class / max(s['safetynet_records'], 1):.1f}%) "
                       f"differ in {json.dumps(s.get('classification_columns_differing', {}))}: the SQL classifier "
                       "has no word forms, slip correction or concepts (it does less work than ours; "
                       "benches/README.md)."))
            else:
                check_lines.append(
                    f"Check (a2)/(d+), stores: **MISMATCH**: safetynet {s['safetynet_records']:,} records, DuckDB "
                    f"{s['duckdb_records']:,}, {s['records_differing']:,} records differ; columns differing (records): "
                    f"{json.dumps(s['columns_differing'])}; columns only in ours: {s['columns_only_safetynet']}, "
                    f"only in DuckDB's: {s['columns_only_duckdb']}. Examples (record, form, venue, rule ours/DuckDB, "
                    f"evidence ours/DuckDB, reason ours/DuckDB): {json.dumps(s['examples'][:3], ensure_ascii=False)}. "
                    "Known gaps of the DuckDB SQL (word forms, slips, concepts): benches/README.md, "
                    "\"Where the SQL is simpler than our matcher\".")
        check_lines.append(f"Details: {a.check}.")

    # how many files each side read, from the DuckDB processes of the last run
    def last_json(stage):
        log = Path(a.logs) / f"duckdb-{stage}-{a.runs}.log"
        return json.loads([l for l in open(log, encoding="utf-8") if l.startswith("{")][-1])

    n_files = last_json("queries")["files"]
    copied = last_json("copy-store")
    timer = ("/usr/bin/time -f \"%e %M\"" if a.timer == "gnu"
             else "python's resource module (/usr/bin/time missing)")
    start_o, start_d = t("safetynet", "start"), t("duckdb", "start")
    notes = [
        "",
        f"{'**CHECK FAILED: the two sides did not compute the same thing (below).** ' if ok is False else ''}"
        f"{a.ours_version}; DuckDB {a.duckdb_version} (Python package, default settings: all cores, "
        f"memory limit 80% of RAM); {a.machine}; {datetime.date.today().isoformat()}.",
        f"Medians of {a.runs} run(s); ratio = safetynet / DuckDB (above 1: DuckDB faster). Process rows: wall-clock "
        f"seconds and peak resident memory of the whole process, start included, from {timer}; every measured process "
        "is its own, and within each run ours runs first, then DuckDB's.",
        "",
        "What each side does, row by row:",
        f"- (a1) safetynet: `ingest` of the {n:,}-record CSV into a fresh store: read, validate every row, quarantine, "
        "drop duplicate ids, classify, write LZ4 (lz4_raw) Parquet partitioned by reporting_country and year, manifest. "
        "DuckDB: `COPY (SELECT * FROM read_csv('N.csv')) TO 'data.parquet' (FORMAT parquet, COMPRESSION lz4_raw)`: "
        "types guessed by its sniffer, **no validation, no classification, no partitioning**, one file. "
        "A floor, not the same work (lz4_raw added so that both write the codec of our store).",
        "- (a2) safetynet: the same `ingest`. DuckDB: the project's validation in SQL (`duckdb_pipeline.py ingest`): "
        "the CSV loaded as text into a table (rows numbered by its rowid, in parallel), the checks, quarantine CSV, "
        "duplicates dropped, classification SQL, lz4_raw Parquet partitioned by reporting_country and year. "
        "Simpler than ours in places (benches/README.md), which flatters DuckDB.",
        f"- (b) the same SQL text on both sides: queries/*.sql without a `-- requires:` line, with protected_count( and "
        f"published_count( rewritten to count( (in {Path(a.raw).parent}/sql/), parameters years {a.years}, all "
        f"countries, unit victims; both read the same {n_files} Parquet files (our fresh store's manifest). "
        "safetynet: one `safetynet --quiet query --store S --format csv --file F --from Y1 --to Y2 --output CSV "
        "--timing` process per query. DuckDB: one Python process (`duckdb_pipeline.py queries`) runs them all over "
        "`read_parquet([the files], hive_partitioning=false)`, and then each query again in a Python process of "
        "its own (`queries --only NN`). **Per-query rows: the statement alone, each in a fresh process, on both "
        "sides**, timed inside the process: DuckDB's with perf_counter from execute to the last row fetched (in "
        "its process of one query); ours as `--timing` says, from planning to the last row collected. Both spans "
        "open the Parquet files and read their footers; neither includes its process's start, the opening of the "
        "store or the view, or writing the CSV. The peak MB columns of those rows: each side's process of that "
        "one query. DuckDB's statements in its one process for all, where each after the first runs in a "
        "process that has run the ones before, medians: "
        + ", ".join(f"{q[:2]} {fmt_s(t('duckdb', f'query:{q}'))} s" for q in queries) + ". "
        "Our whole query processes, start and CSV included (peak MB column: that process), medians: "
        + ", ".join(f"{q[:2]} {fmt_s(t('safetynet', f'query:{q}'))} s" for q in queries) + ". "
        "All report queries, the statements: the per-query figures above summed per run, median over runs. "
        "All report queries, whole processes: safetynet = the sum of its query processes (peak: the largest); "
        "DuckDB = its one Python process for all (start, opening the files, all queries, writing the CSVs).",
        "- (c) safetynet: the whole `report --store S --out DIR` on the same store: the queries, disclosure control "
        "(primary and secondary suppression), charts (SVG, PNG), the XLSX workbook, HTML and Markdown, the audit. "
        "DuckDB column: **the (b) all-queries process again**, since DuckDB has no such step: the difference is the "
        "cost of publishing safely, not of the SQL engine.",
        "- (d) safetynet: `classify --store S --rules R` with a rules copy of another version, so it reclassifies "
        "and rewrites every record (run last: it replaces the files the queries read). DuckDB: "
        "`COPY (SELECT * FROM read_parquet([our store's files])) TO DIR (FORMAT parquet, COMPRESSION lz4_raw, "
        "PARTITION_BY (reporting_country, year), WRITE_PARTITION_COLUMNS true)`, of our store as classify left it "
        f"({copied['files_read']} files read, {copied['files_written']} written; the queries read {n_files} before "
        "classify): read all, write all, no classification. "
        "What classify does at least.",
        "- (d+) extra: DuckDB's classification SQL (`duckdb_pipeline.py classify`) over its own validated store: "
        "decisions per distinct (form, sectors, venue), the summary counts, a new store written and swapped in.",
        "",
        f"Starting the process alone: safetynet {fmt_s(start_o)} s, {fmt_mb(m('safetynet', 'start'))} MB; "
        f"Python importing duckdb {fmt_s(start_d)} s, {fmt_mb(m('duckdb', 'start'))} MB.",
        "Threads: neither side is given a thread count: DuckDB keeps its default (all cores); ours is free to use both cores. Memory: ours runs its SQL engine with "
        "the default `--memory-limit 512M` before spilling; DuckDB its default limit.",
        "",
    ] + check_lines
    text = "\n".join(lines + notes) + "\n"
    Path(a.out).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
