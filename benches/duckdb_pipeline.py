#!/usr/bin/env python3
"""The safetynet pipeline done with DuckDB, for benches/run.sh.

    python duckdb_pipeline.py STAGE CSV WORKDIR [options]

Stages (each meant to run as its own process, so that the operating system's
peak-memory figure is the stage's own):

  ingest    CSV export -> validated, de-duplicated, classified Parquet store
            (WORKDIR/store/data/reporting_country=CC/year=YYYY/*.parquet) and a
            quarantine CSV. Like `safetynet ingest`, which also classifies.
  classify  reclassify the whole store with the rules (a new store written
            next to the old one, then swapped in). Like `safetynet classify`.
  report    the aggregate queries of queries/ (01..10; files that need another
            table, `-- requires:`, are skipped as `report` skips them without
            --population) over the store, one CSV per query in
            WORKDIR/report/tables/. There is no disclosure control, no XLSX, no
            chart, no HTML/Markdown and no audit: DuckDB has no such step, and
            this side does not try to imitate it.
  check     not timed: compares the DuckDB store with a safetynet store
            (--ours-store) record by record on the classification columns, and
            the DuckDB tables with the unsuppressed output of
            `safetynet query --format csv --file queries/NN.sql` (--ours-tables),
            so that "the same work" is verified rather than claimed.

Only standard Python plus the duckdb package (>= 1.3 for the `lambda x:`
syntax). Rules are read from rules/rules.toml with tomllib, the type names
from rules/typology.toml, and the code lists (in vocabulary order) from
src/base/vocab.rs, all read-only.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import re
import shutil
import sys
import time
import tomllib
import unicodedata
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

INPUT_COLUMNS = [
    "record_id", "case_id", "data_source", "reporting_country", "year", "month",
    "exploitation_country", "exploitation_subdivision", "citizenship", "gender",
    "age_band", "majority_status", "trafficking_form", "sectors", "venue",
    "recruitment_tactics", "recruiter_relations", "control_methods", "abduction",
]
REQUIRED_COLUMNS = ["record_id", "reporting_country", "trafficking_form"]
LIST_COLUMNS = ["sectors", "recruitment_tactics", "recruiter_relations", "control_methods"]
CLASS_COLUMNS = [
    "classification", "typology_id", "typology_name", "extension_category",
    "rule_id", "confidence", "evidence", "undetermined_reason",
]
STORE_COLUMNS = INPUT_COLUMNS + ["foreign_national"] + CLASS_COLUMNS

FORM_LABELS = {
    "sex": "sex trafficking",
    "labor": "labor trafficking",
    "sex_and_labor": "sex and labor trafficking",
    "other": "other exploitation",
}

# Used only when src/base/vocab.rs cannot be read (the order matters: lists are
# stored in vocabulary order, and the undetermined reason names the sectors
# in that order).
FALLBACK_VOCAB = {
    "TRAFFICKING_FORMS": ["sex", "labor", "sex_and_labor", "other", "not_specified"],
    "GENDERS": ["female", "male", "gender_minority"],
    "AGE_BANDS": ["0-8", "9-17", "18-20", "21-23", "24-26", "27-29", "30-38", "39-47", "48+"],
    "MAJORITY_STATUSES": ["adult", "minor"],
}


# ---------------------------------------------------------------------------
# Text normalisation (the Python twin of src/base/vocab.rs, for the rule phrases)
# ---------------------------------------------------------------------------

def fold_accents(text: str) -> str:
    """NFD, drop combining marks, lowercase: vocab::fold_accents."""
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if not unicodedata.category(c).startswith("M")
    ).lower()


def stem(word: str) -> str:
    """vocab::stem. Lengths are in bytes, as in Rust."""
    if len(word.encode()) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word.encode()) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def venue_tokens(text: str) -> list[str]:
    """vocab::venue_tokens: folded, split on anything not a letter or digit, stemmed."""
    return [stem(w) for w in re.split(r"[^\w]|_", fold_accents(text)) if w]


def label_keys(label: str) -> set[str]:
    """Keys under which a "not recorded" label is looked up on the SQL side:
    folded, runs of anything but letters, digits and '+' made one space; with
    and without camelCase split (the SQL side does not split camelCase)."""
    spaced, prev_lower = [], False
    for c in label:
        if c.isupper() and prev_lower:
            spaced.append(" ")
        prev_lower = c.islower() or c.isdigit()
        spaced.append(c)
    out = set()
    for variant in ("".join(spaced), label):
        out.add(" ".join(w for w in re.split(r"[^\w+]|_", fold_accents(variant)) if w))
    return out


def sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def sql_list(items) -> str:
    return "[" + ", ".join(sql_str(i) for i in items) + "]::VARCHAR[]"


# ---------------------------------------------------------------------------
# Rules, typology, vocabulary
# ---------------------------------------------------------------------------

def load_vocab(vocab_rs: Path) -> dict[str, list[str]]:
    vocab = dict(FALLBACK_VOCAB)
    try:
        text = vocab_rs.read_text(encoding="utf-8")
        for name, body in re.findall(r"pub const (\w+): &\[&str\]\s*=\s*&\[(.*?)\];", text, re.S):
            vocab[name] = re.findall(r'"([^"]*)"', body)
    except OSError:
        pass
    return vocab


def load_countries(countries_rs: Path) -> list[str] | None:
    """The ISO 3166-1 alpha-2 list of src/base/countries.rs (None: check the shape only)."""
    try:
        m = re.search(r'const ALPHA2: &str = "(.*?)";', countries_rs.read_text(encoding="utf-8"), re.S)
    except OSError:
        return None
    return m.group(1).replace("\\", " ").split() if m else None


class Rules:
    def __init__(self, rules_path: Path, typology_path: Path, vocab_rs: Path, countries_rs: Path):
        with open(rules_path, "rb") as f:
            data = tomllib.load(f)
        with open(typology_path, "rb") as f:
            typology = tomllib.load(f)
        self.version = data["version"]
        self.type_names = {t["id"]: t["name"] for t in typology["type"]}
        self.rules = data["rule"]
        labels = data.get("labels", {})
        self.not_recorded = sorted({k for l in labels.get("not_recorded", []) for k in label_keys(l)})
        vocab = load_vocab(vocab_rs)
        self.countries = load_countries(countries_rs)
        # code lists in vocabulary order; when src/base/vocab.rs is missing, the
        # order of the label tables in rules.toml
        self.codes = {
            "trafficking_form": vocab.get("TRAFFICKING_FORMS"),
            "gender": vocab.get("GENDERS"),
            "age_band": vocab.get("AGE_BANDS"),
            "majority_status": vocab.get("MAJORITY_STATUSES"),
            "sectors": vocab.get("SECTORS") or list(labels.get("sectors", {})),
            "recruitment_tactics": vocab.get("RECRUITMENT_TACTICS") or list(labels.get("recruitment_tactics", {})),
            "recruiter_relations": vocab.get("RECRUITER_RELATIONS") or list(labels.get("recruiter_relations", {})),
            "control_methods": vocab.get("CONTROL_METHODS") or list(labels.get("control_methods", {})),
        }


# ---------------------------------------------------------------------------
# DuckDB session
# ---------------------------------------------------------------------------

THREADS: int | None = None


def connect(workdir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if THREADS:
        con.execute(f"SET threads = {int(THREADS)}")
    tmp = workdir / "duckdb.tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = {sql_str(str(tmp))}")
    # Normalisation macros, shared by ingest (labels) and classify (venues).
    # norm_label: folded, runs of anything but letters/digits/'+' -> one space.
    con.execute(r"""
        CREATE MACRO norm_label(x) AS
          trim(regexp_replace(lower(strip_accents(x)), '[^\pL\pN+]+', ' ', 'g'))
    """)
    # sn_stem: vocab::stem (strlen is bytes, as Rust's str::len).
    con.execute("""
        CREATE MACRO sn_stem_s(w) AS
          CASE WHEN strlen(w) > 3 AND suffix(w, 's') AND NOT suffix(w, 'ss')
               THEN left(w, length(w) - 1) ELSE w END
    """)
    con.execute("""
        CREATE MACRO sn_stem(w) AS
          CASE WHEN strlen(sn_stem_s(w)) > 3 AND suffix(sn_stem_s(w), 'e')
               THEN left(sn_stem_s(w), length(sn_stem_s(w)) - 1) ELSE sn_stem_s(w) END
    """)
    # venue_key: ' tok1 tok2 ... ' so that a phrase ' w1 w2 ' is found with
    # contains() exactly when its words appear side by side as whole words.
    con.execute(r"""
        CREATE MACRO venue_key(v) AS
          ' ' || array_to_string(
            list_transform(
              list_filter(regexp_split_to_array(lower(strip_accents(v)), '[^\pL\pN]+'), lambda w: w <> ''),
              lambda w: sn_stem(w)),
            ' ') || ' '
    """)
    return con


def store_glob(store: Path) -> str:
    return str(store / "data" / "**" / "*.parquet")


# ---------------------------------------------------------------------------
# Classification as SQL
# ---------------------------------------------------------------------------

def create_rules_table(con, rules: Rules) -> None:
    con.execute("""
        CREATE OR REPLACE TEMP TABLE sn_rules (
          idx INTEGER, id VARCHAR, status VARCHAR, typology_id INTEGER,
          typology_name VARCHAR, extension_category VARCHAR, confidence VARCHAR,
          sectors VARCHAR[], phrase_keys VARCHAR[], phrase_texts VARCHAR[])
    """)
    rows = []
    for i, r in enumerate(rules.rules):
        keys, texts = [], []
        for p in r.get("phrases", []):
            toks = venue_tokens(p)
            if toks:
                keys.append(" " + " ".join(toks) + " ")
                texts.append(p)
        tid = r.get("typology")
        rows.append((
            i, r["id"], "typology" if tid is not None else "extension", tid,
            rules.type_names.get(tid) if tid is not None else None,
            r.get("extension"), r["confidence"], r.get("sectors", []), keys, texts,
        ))
    con.executemany("INSERT INTO sn_rules VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def rule_case_sql(rules: Rules) -> str:
    """The first rule whose conditions all hold, as one CASE: form in the
    rule's forms, any of the record's sectors in the rule's sectors, any of
    the rule's phrases among the venue's words (contains() on the padded
    token string)."""
    whens = []
    for i, r in enumerate(rules.rules):
        conds = []
        if r.get("forms"):
            conds.append(f"trafficking_form IN ({', '.join(sql_str(f) for f in r['forms'])})")
        if r.get("sectors"):
            conds.append(f"coalesce(list_has_any(sectors, {sql_list(r['sectors'])}), false)")
        if r.get("phrases"):
            keys = sorted({" " + " ".join(venue_tokens(p)) + " " for p in r["phrases"] if venue_tokens(p)})
            conds.append("(" + " OR ".join(f"contains(vkey, {sql_str(k)})" for k in keys) + ")")
        whens.append(f"    WHEN {' AND '.join(conds)} THEN {i}")
    return "CASE\n" + "\n".join(whens) + "\n  END"


def create_decisions(con, rules: Rules, source: str) -> int:
    """One decision per distinct (form, sectors, venue) of `source`, as our
    classifier caches them. Returns the number of distinct combinations."""
    create_rules_table(con, rules)
    form_label = "CASE trafficking_form " + " ".join(
        f"WHEN {sql_str(k)} THEN {sql_str(v)}" for k, v in FORM_LABELS.items()
    ) + " ELSE 'form not specified' END"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sn_decisions AS
        WITH combos AS (
          SELECT DISTINCT trafficking_form, sectors,
                 CASE WHEN trim(venue) = '' THEN NULL ELSE venue END AS venue
          FROM {source}
        ),
        keyed AS (SELECT *, venue_key(venue) AS vkey FROM combos),
        decided AS (SELECT *, {rule_case_sql(rules)} AS rule_idx FROM keyed)
        SELECT
          d.trafficking_form, d.sectors, d.venue,
          coalesce(r.status, 'undetermined') AS classification,
          r.typology_id, r.typology_name, r.extension_category,
          r.id AS rule_id, r.confidence,
          CASE WHEN r.idx IS NOT NULL THEN concat_ws('; ',
            CASE WHEN len(r.phrase_keys) > 0 THEN 'venue: "' || r.phrase_texts[
              list_position(list_transform(r.phrase_keys, lambda k: contains(d.vkey, k)), true)] || '"' END,
            CASE WHEN len(r.sectors) > 0 THEN 'sector: ' ||
              list_filter(d.sectors, lambda s: list_contains(r.sectors, s))[1] END)
          END AS evidence,
          CASE WHEN r.idx IS NULL THEN
            CASE WHEN d.venue IS NOT NULL THEN {form_label} || ', venue text matched no rule'
                 WHEN d.sectors IS NULL OR len(d.sectors) = 0 THEN {form_label} || ', no sector, no venue'
                 ELSE {form_label} || ', ' || array_to_string(d.sectors, ' and ') || ', no venue'
            END
          END AS undetermined_reason
        FROM decided d LEFT JOIN sn_rules r ON r.idx = d.rule_idx
    """)
    return con.execute("SELECT count(*) FROM sn_decisions").fetchone()[0]


def classified_select(source: str) -> str:
    """The store's columns: a record's base columns joined to its decision."""
    base = ", ".join(f"s.{c}" for c in INPUT_COLUMNS + ["foreign_national"])
    cls = ", ".join(f"d.{c}" for c in CLASS_COLUMNS)
    return f"""
        SELECT {base}, {cls}
        FROM {source} s
        JOIN sn_decisions d
          ON d.trafficking_form = s.trafficking_form
         AND d.sectors IS NOT DISTINCT FROM s.sectors
         AND d.venue IS NOT DISTINCT FROM (CASE WHEN trim(s.venue) = '' THEN NULL ELSE s.venue END)
    """


def write_store(con, select_sql: str, target: Path) -> None:
    """Parquet partitioned by reporting country and year, zstd; the partition
    columns are also kept inside the files, as in our store."""
    (target / "data").mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY ({select_sql}) TO {sql_str(str(target / 'data'))}
        (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (reporting_country, year),
         WRITE_PARTITION_COLUMNS true, OVERWRITE_OR_IGNORE true)
    """)


def swap_in(staged: Path, store: Path) -> None:
    """Replace the store by the staged one (a rename, like our commit)."""
    old = store.with_name(store.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if store.exists():
        store.rename(old)
    staged.rename(store)
    if old.exists():
        shutil.rmtree(old)


# ---------------------------------------------------------------------------
# ingest
# ---------------------------------------------------------------------------

EMPTY = "''"
SQL_CONTRADICTS = "'contradicts age band ' || age_band"
SQL_SUB_ELSEWHERE = "'subdivision ' || sub_code || ' is not in exploitation country ' || exploitation_country"


def problem(column: str, value_sql: str, reason_sql: str) -> str:
    return f"{{'column': {sql_str(column)}, 'value': {value_sql}, 'reason': {reason_sql}}}"


def ingest(args, rules: Rules) -> dict:
    """What is the same as `safetynet ingest`:
      - every row is read and ends up stored, quarantined (with row, column,
        value and reason) or a duplicate record_id (the first one is kept), and
        the counts reconcile: read = stored + quarantined + duplicates;
      - record_id and reporting_country required, record_id at most 128
        characters; case_id defaults to record_id;
      - year and month parsed as integers ("2019.0" accepted), year 1990..this
        year, month 1..12; malformed numbers quarantined;
      - coded fields and ;-joined lists must be codes of the vocabulary; "not
        recorded" labels ("Unknown", "No especificado", ...) become null;
        lists are de-duplicated, put in vocabulary order, and never empty
        (null instead);
      - an age in years becomes its band; majority_status is derived from the
        band and a contradicting one is quarantined; trafficking_form defaults
        to not_specified; abduction accepts the same yes/no words;
      - foreign_national derived; classified (see classify); written as zstd
        Parquet partitioned by reporting country and year, staged and swapped
        in.
      - country codes checked against the same ISO 3166-1 list (read from
        src/base/countries.rs), XX allowed as reporting country; a subdivision must
        have the form CC-XXX and belong to the country of exploitation.
    What is simpler here (cheaper than ours, so it flatters DuckDB):
      - only codes are accepted for coded fields (ours also maps English,
        Spanish, French, HTCDS, CTDC and Polaris labels, camelCase included);
        the generated data holds codes only, so the same rows pass;
      - one quarantine row per column in error (ours: one per bad list part);
      - a row with the wrong number of columns or invalid UTF-8 stops
        read_csv, hence the whole ingest (ours quarantines the row);
      - no encoding/delimiter sniffing, no personal-data guard, no content
        hash or re-ingest detection, no manifest, no de-duplication against
        records already in a store (the bench ingests into a fresh store).
    """
    csv_path, workdir = Path(args.csv), Path(args.workdir)
    store = workdir / "store"
    staged = workdir / "store.staged"
    if staged.exists():
        shutil.rmtree(staged)
    con = connect(workdir)

    header = next(csv.reader(open(csv_path, newline="", encoding="utf-8")))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in INPUT_COLUMNS]
    if missing or unknown:
        sys.exit(f"refused: missing required columns {missing}, unknown columns {unknown}")
    this_year = datetime.date.today().year
    notrec = sql_list(rules.not_recorded)

    def raw(c):  # a column the file may lack reads as null
        return f"nullif(trim(\"{c}\"), '')" if c in header else "NULL::VARCHAR"

    # level 1: trimmed text, parsed numbers, list parts
    level1 = [f"row_number() OVER () AS rownum"]
    for c in INPUT_COLUMNS:
        level1.append(f"{raw(c)} AS r_{c}")
    # the venue is kept verbatim (not trimmed), null when blank
    level1.append("CASE WHEN trim(venue) = '' THEN NULL ELSE venue END AS v_venue" if "venue" in header else "NULL::VARCHAR AS v_venue")
    level1.append(f"TRY_CAST({raw('year')} AS DOUBLE) AS n_year")
    level1.append(f"TRY_CAST({raw('month')} AS DOUBLE) AS n_month")
    level1.append(f"TRY_CAST({raw('age_band')} AS DOUBLE) AS n_age")
    # Codes are tested first and the (regex) "not recorded" normalisation only
    # for what is not a code; a code that is itself a "not recorded" label
    # (trafficking_form not_specified = "not specified") is left to the
    # second test, as our loader looks "not recorded" up first.
    nr_set = set(rules.not_recorded)

    def plain_codes(col):
        return sql_list([k for k in rules.codes[col] if not (label_keys(k) & nr_set)])

    for c in LIST_COLUMNS:
        level1.append(
            f"list_filter(list_transform(string_split({raw(c)}, ';'), lambda p: lower(trim(p))), "
            f"lambda p: CASE WHEN p = '' THEN false WHEN list_contains({plain_codes(c)}, p) THEN true "
            f"ELSE NOT list_contains({notrec}, norm_label(p)) END) AS p_{c}"
        )

    def coded(col):  # the code, or null (blank, "not recorded", or unknown: see coded_bad)
        return f"CASE WHEN r_{col} IS NULL THEN NULL WHEN list_contains({plain_codes(col)}, lower(r_{col})) THEN lower(r_{col}) END"

    def coded_bad(col):
        return (f"CASE WHEN r_{col} IS NULL OR list_contains({plain_codes(col)}, lower(r_{col})) THEN false "
                f"ELSE NOT list_contains({notrec}, norm_label(r_{col})) END")

    # is_country: the ISO list (reporting country, subdivisions); for the other
    # country columns "not recorded" is looked up first, as ours does
    if rules.countries:
        con.execute(f"CREATE MACRO is_country(c) AS list_contains({sql_list(rules.countries)}, c)")
    else:  # src/base/countries.rs not found: the shape only
        con.execute("CREATE MACRO is_country(c) AS regexp_full_match(c, '[A-Z]{2}')")
    clash = [c for c in (rules.countries or []) if label_keys(c) & nr_set]
    con.execute(f"CREATE MACRO is_plain_country(c) AS is_country(c) AND NOT list_contains({sql_list(clash)}, c)")

    def country(col):
        return f"CASE WHEN r_{col} IS NULL THEN NULL WHEN is_plain_country(upper(r_{col})) THEN upper(r_{col}) END"

    def country_bad(col):
        return (f"CASE WHEN r_{col} IS NULL OR is_plain_country(upper(r_{col})) THEN false "
                f"ELSE NOT list_contains({notrec}, norm_label(r_{col})) END")

    def whole(n):
        return f"({n} = floor({n}) AND abs({n}) < 1e12)"

    age_is_number = f"(n_age IS NOT NULL AND {whole('n_age')} AND NOT contains(r_age_band, '-'))"
    band_of_age = ("CASE WHEN n_age BETWEEN 0 AND 8 THEN '0-8' WHEN n_age BETWEEN 9 AND 17 THEN '9-17' "
                   "WHEN n_age BETWEEN 18 AND 20 THEN '18-20' WHEN n_age BETWEEN 21 AND 23 THEN '21-23' "
                   "WHEN n_age BETWEEN 24 AND 26 THEN '24-26' WHEN n_age BETWEEN 27 AND 29 THEN '27-29' "
                   "WHEN n_age BETWEEN 30 AND 38 THEN '30-38' WHEN n_age BETWEEN 39 AND 47 THEN '39-47' "
                   "WHEN n_age BETWEEN 48 AND 120 THEN '48+' END")
    bool_true = sql_list(["true", "1", "yes", "y", "si", "oui", "vrai", "verdadero"])
    bool_false = sql_list(["false", "0", "no", "n", "non", "faux", "falso"])

    # level 2: values
    level2 = ["rownum", "n_year", "n_month", "n_age"] + [f"r_{c}" for c in INPUT_COLUMNS] + [f"p_{c}" for c in LIST_COLUMNS] + [
        "r_record_id AS record_id",
        "coalesce(r_case_id, r_record_id) AS case_id",
        "r_data_source AS data_source",
        "CASE WHEN upper(r_reporting_country) = 'XX' OR is_country(upper(r_reporting_country)) "
        "THEN upper(r_reporting_country) END AS reporting_country",
        f"CASE WHEN {whole('n_year')} AND n_year BETWEEN 1990 AND {this_year} THEN n_year::INTEGER END AS year",
        f"CASE WHEN {whole('n_month')} AND n_month BETWEEN 1 AND 12 THEN n_month::INTEGER END AS month",
        f"{country('exploitation_country')} AS exploitation_country",
        "upper(r_exploitation_subdivision) AS sub_code",
        f"{country('citizenship')} AS citizenship",
        f"{coded('gender')} AS gender",
        f"CASE WHEN {age_is_number} THEN {band_of_age} ELSE {coded('age_band')} END AS age_band",
        f"{coded('majority_status')} AS ms_given",
        f"coalesce({coded('trafficking_form')}, 'not_specified') AS trafficking_form",
        "v_venue AS venue",
        f"CASE WHEN r_abduction IS NULL THEN NULL WHEN list_contains({bool_true}, norm_label(r_abduction)) THEN true "
        f"WHEN list_contains({bool_false}, norm_label(r_abduction)) THEN false END AS abduction",
    ]
    for c in LIST_COLUMNS:
        codes = sql_list(rules.codes[c])
        level2.append(f"CASE WHEN len(p_{c}) > 0 THEN list_filter({codes}, lambda k: list_contains(p_{c}, k)) END AS {c}")
        level2.append(f"list_filter(p_{c}, lambda p: NOT list_contains({codes}, p)) AS bad_{c}")

    # level 3: problems
    def p(column, value_sql, reason):  # a problem with a fixed reason
        return problem(column, value_sql, sql_str(reason))

    minor_of_band = "(CASE WHEN age_band IN ('0-8', '9-17') THEN 'minor' ELSE 'adult' END)"
    not_iso = "not an ISO 3166-1 alpha-2 country code"
    checks = [
        f"CASE WHEN r_record_id IS NULL THEN {p('record_id', EMPTY, 'missing required value')} "
        f"WHEN length(r_record_id) > 128 THEN {p('record_id', 'r_record_id', 'record id longer than 128 characters')} END",
        f"CASE WHEN r_reporting_country IS NULL THEN {p('reporting_country', EMPTY, 'missing required value')} "
        f"WHEN reporting_country IS NULL THEN "
        f"{p('reporting_country', 'r_reporting_country', not_iso)} END",
        f"CASE WHEN r_year IS NOT NULL AND (n_year IS NULL OR NOT {whole('n_year')}) THEN {p('year', 'r_year', 'malformed number')} "
        f"WHEN n_year > {this_year} THEN {p('year', 'r_year', f'year in the future (after {this_year})')} "
        f"WHEN n_year < 1990 THEN {p('year', 'r_year', f'outside 1990 to {this_year}')} END",
        f"CASE WHEN r_month IS NOT NULL AND (n_month IS NULL OR NOT {whole('n_month')}) THEN {p('month', 'r_month', 'malformed number')} "
        f"WHEN n_month NOT BETWEEN 1 AND 12 THEN {p('month', 'r_month', 'outside 1 to 12')} END",
        f"CASE WHEN {country_bad('exploitation_country')} THEN {p('exploitation_country', 'r_exploitation_country', not_iso)} END",
        f"CASE WHEN {country_bad('citizenship')} THEN {p('citizenship', 'r_citizenship', not_iso)} END",
        f"CASE WHEN sub_code IS NULL THEN NULL "
        f"WHEN NOT regexp_full_match(sub_code, '[A-Z]{{2}}-[A-Z0-9]{{1,3}}') OR NOT is_country(left(sub_code, 2)) THEN "
        f"{p('exploitation_subdivision', 'r_exploitation_subdivision', 'subdivision is not an ISO 3166-2 code (CC-XXX)')} "
        f"WHEN exploitation_country IS NULL THEN "
        f"{p('exploitation_subdivision', 'r_exploitation_subdivision', 'subdivision given without an exploitation country')} "
        f"WHEN exploitation_country <> left(sub_code, 2) THEN {problem('exploitation_subdivision', 'r_exploitation_subdivision', SQL_SUB_ELSEWHERE)} END",
        f"CASE WHEN {coded_bad('gender')} THEN {p('gender', 'r_gender', 'unknown gender code')} END",
        f"CASE WHEN {age_is_number} AND age_band IS NULL THEN {p('age_band', 'r_age_band', 'age outside 0 to 120')} "
        f"WHEN NOT {age_is_number} AND {coded_bad('age_band')} THEN {p('age_band', 'r_age_band', 'unknown age_band code')} END",
        f"CASE WHEN {coded_bad('majority_status')} THEN {p('majority_status', 'r_majority_status', 'unknown majority_status code')} "
        f"WHEN ms_given IS NOT NULL AND age_band IS NOT NULL AND ms_given <> {minor_of_band} THEN "
        f"{problem('majority_status', 'r_majority_status', SQL_CONTRADICTS)} END",
        f"CASE WHEN {coded_bad('trafficking_form')} THEN {p('trafficking_form', 'r_trafficking_form', 'unknown trafficking_form code')} END",
        f"CASE WHEN r_abduction IS NOT NULL AND abduction IS NULL THEN {p('abduction', 'r_abduction', 'not a yes/no value')} END",
    ] + [
        f"CASE WHEN len(bad_{c}) > 0 THEN {p(c, f'bad_{c}[1]', f'unknown {c} code')} END"
        for c in LIST_COLUMNS
    ]
    level3 = ", ".join(
        ["rownum"]
        + [c for c in INPUT_COLUMNS if c not in ("majority_status", "exploitation_subdivision")]
        + ["coalesce(ms_given, CASE WHEN age_band IN ('0-8', '9-17') THEN 'minor' "
           "WHEN age_band IS NOT NULL THEN 'adult' END) AS majority_status",
           "CASE WHEN regexp_full_match(sub_code, '[A-Z]{2}-[A-Z0-9]{1,3}') AND exploitation_country = left(sub_code, 2) "
           "THEN sub_code END AS exploitation_subdivision",
           "citizenship <> exploitation_country AS foreign_national",
           "list_filter([" + ", ".join(checks) + "], lambda p: p IS NOT NULL) AS problems"]
    )

    t0 = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE checked AS
        WITH l1 AS (
          SELECT {', '.join(level1)}
          FROM read_csv({sql_str(str(csv_path))}, header = true, all_varchar = true, delim = ',', quote = '"')
        ),
        l2 AS (SELECT {', '.join(level2)} FROM l1)
        SELECT {level3} FROM l2
    """)
    read = con.execute("SELECT count(*) FROM checked").fetchone()[0]

    # quarantine: one row per problem (row number counts the header as row 1)
    quarantine = workdir / "quarantine.csv"
    con.execute(f"""
        COPY (
          SELECT {sql_str(csv_path.name)} AS file, rownum + 1 AS row, p.column AS column, p.value AS value, p.reason AS reason
          FROM (SELECT rownum, unnest(problems) AS p FROM checked WHERE len(problems) > 0)
          ORDER BY rownum
        ) TO {sql_str(str(quarantine))} (HEADER)
    """)
    quarantined = con.execute("SELECT count(*) FROM checked WHERE len(problems) > 0").fetchone()[0]

    # duplicates: the first row of a record_id is kept
    con.execute("""
        CREATE TEMP TABLE duplicate_ids AS
        SELECT record_id, min(rownum) AS keep FROM checked
        WHERE len(problems) = 0 GROUP BY record_id HAVING count(*) > 1
    """)
    con.execute("""
        CREATE TEMP VIEW good AS
        SELECT c.* FROM checked c LEFT JOIN duplicate_ids d ON d.record_id = c.record_id
        WHERE len(c.problems) = 0 AND (d.record_id IS NULL OR d.keep = c.rownum)
    """)
    stored = con.execute("SELECT count(*) FROM good").fetchone()[0]
    combos = create_decisions(con, rules, "good")
    write_store(con, classified_select("good"), staged)
    swap_in(staged, store)
    return {
        "stage": "ingest", "read": read, "stored": stored, "quarantined": quarantined,
        "duplicates": read - stored - quarantined, "distinct_combinations": combos,
        "rules_version": rules.version, "seconds": round(time.perf_counter() - t0, 3),
    }


# ---------------------------------------------------------------------------
# classify
# ---------------------------------------------------------------------------

def classify(args, rules: Rules) -> dict:
    """Reclassify the store: decisions per distinct (form, sectors, venue),
    one pass to count what changed, one to write the new store, then swap.
    Like `safetynet classify`, it prints the records per outcome, how many
    changed type, and the most frequent venue texts that matched no rule."""
    workdir = Path(args.workdir)
    store = workdir / "store"
    staged = workdir / "store.classify"
    if staged.exists():
        shutil.rmtree(staged)
    con = connect(workdir)
    t0 = time.perf_counter()
    con.execute(f"CREATE VIEW cases AS SELECT * FROM read_parquet({sql_str(store_glob(store))}, hive_partitioning = false)")
    combos = create_decisions(con, rules, "cases")
    # summary from the combinations and their old outcome, counted in one scan
    con.execute("""
        CREATE TEMP TABLE old AS
        SELECT trafficking_form, sectors, CASE WHEN trim(venue) = '' THEN NULL ELSE venue END AS venue,
               classification, typology_id, extension_category, count(*) AS n
        FROM cases GROUP BY ALL
    """)
    join = """FROM old o JOIN sn_decisions d ON d.trafficking_form = o.trafficking_form
              AND d.sectors IS NOT DISTINCT FROM o.sectors AND d.venue IS NOT DISTINCT FROM o.venue"""
    records, changed = con.execute(f"""
        SELECT sum(n), coalesce(sum(n) FILTER (WHERE o.classification IS DISTINCT FROM d.classification
            OR o.typology_id IS DISTINCT FROM d.typology_id
            OR o.extension_category IS DISTINCT FROM d.extension_category), 0) {join}
    """).fetchone()
    by_status = dict(con.execute(f"SELECT d.classification, sum(n) {join} GROUP BY 1 ORDER BY 1").fetchall())
    unmatched = con.execute(f"""
        SELECT o.venue, sum(n) AS n {join} WHERE o.venue IS NOT NULL AND d.classification = 'undetermined'
        GROUP BY 1 ORDER BY n DESC, o.venue LIMIT 15
    """).fetchall()
    write_store(con, classified_select("cases"), staged)
    swap_in(staged, store)
    return {
        "stage": "classify", "records": int(records), "changed": int(changed),
        "by_status": {k: int(v) for k, v in by_status.items()}, "distinct_combinations": combos,
        "unmatched_venues": [[v, int(n)] for v, n in unmatched], "rules_version": rules.version,
        "seconds": round(time.perf_counter() - t0, 3),
    }


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------

def query_files(queries: Path) -> list[Path]:
    out = []
    for f in sorted(queries.glob("*.sql")):
        if re.search(r"^--\s*requires:", f.read_text(encoding="utf-8"), re.M):
            continue  # needs a table besides `cases` (population); report skips it too
        out.append(f)
    return out


def adapt_sql(sql: str, from_year: int, to_year: int) -> str:
    """DataFusion -> DuckDB: the $parameters become literals for the full
    range, all countries, unit victims (the report's defaults), and a VALUES
    list gets DataFusion's column names column1, column2, ... (DuckDB calls
    them col0, col1, ...). Everything else runs as written: DuckDB has
    array_has, string_to_array, unnest, count(DISTINCT), lag, row_number,
    NULLS LAST; wilson_lo/wilson_hi are macros (below)."""
    sql = (sql.replace("$from_year", str(from_year)).replace("$to_year", str(to_year))
              .replace("$countries", "''").replace("$unit", "'victims'"))

    def name_values(m):
        first = re.match(r"\s*\(([^()]*)\)", m.group(1))
        n = len(first.group(1).split(",")) if first else 1
        cols = ", ".join(f"column{i + 1}" for i in range(n))
        return f"FROM (VALUES {m.group(1)}) AS v({cols})"

    return re.sub(r"FROM \(VALUES ((?:\s*\([^()]*\)\s*,?)+)\)", name_values, sql)


def report(args, rules: Rules) -> dict:
    workdir = Path(args.workdir)
    store = workdir / "store"
    out = workdir / "report"
    if out.exists():
        shutil.rmtree(out)  # replaced, as `report --out` does
    (out / "tables").mkdir(parents=True)
    con = connect(workdir)
    t0 = time.perf_counter()
    con.execute(f"CREATE VIEW cases AS SELECT * FROM read_parquet({sql_str(store_glob(store))}, hive_partitioning = false)")
    # the same 95% Wilson score interval as src/sql/udf.rs (null when n <= 0 or x outside 0..n)
    z = 1.959963984540054
    con.execute(f"""
        CREATE MACRO wilson_lo(x, n) AS CASE WHEN n > 0 AND x >= 0 AND x <= n THEN greatest(0.0,
          ((x / n + {z * z} / (2.0 * n)) / (1.0 + {z * z} / n))
          - {z} / (1.0 + {z * z} / n) * sqrt((x / n) * (1.0 - x / n) / n + {z * z} / (4.0 * n * n))) END
    """)
    con.execute(f"""
        CREATE MACRO wilson_hi(x, n) AS CASE WHEN n > 0 AND x >= 0 AND x <= n THEN least(1.0,
          ((x / n + {z * z} / (2.0 * n)) / (1.0 + {z * z} / n))
          + {z} / (1.0 + {z * z} / n) * sqrt((x / n) * (1.0 - x / n) / n + {z * z} / (4.0 * n * n))) END
    """)
    from_year, to_year = con.execute("SELECT min(year), max(year) FROM cases").fetchone()
    tables = {}
    for f in query_files(Path(args.queries)):
        sql = adapt_sql(f.read_text(encoding="utf-8"), from_year, to_year)
        target = out / "tables" / (f.stem + ".csv")
        con.execute(f"COPY ({sql}) TO {sql_str(str(target))} (HEADER)")
        tables[f.stem] = sum(1 for _ in open(target, encoding="utf-8")) - 1
    return {
        "stage": "report", "from": from_year, "to": to_year, "tables": tables,
        "note": "DuckDB side: query results as CSV only; no disclosure control, XLSX, charts, HTML/Markdown or audit",
        "seconds": round(time.perf_counter() - t0, 3),
    }


# ---------------------------------------------------------------------------
# check (not timed)
# ---------------------------------------------------------------------------

def close(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=0.051)  # values rounded to 0.1


def check(args, rules: Rules) -> dict:
    workdir = Path(args.workdir)
    con = connect(workdir)
    result = {"stage": "check"}
    ok = True
    if args.ours_store:
        ours = Path(args.ours_store)
        con.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet({sql_str(store_glob(workdir / 'store'))}, hive_partitioning = false)")
        con.execute(f"CREATE VIEW o AS SELECT * FROM read_parquet({sql_str(store_glob(ours))}, hive_partitioning = false)")
        n_d, n_o = con.execute("SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM o)").fetchone()
        cols = [c for c in STORE_COLUMNS if c != "record_id"]
        differs = " OR ".join(f"d.{c} IS DISTINCT FROM o.{c}" for c in cols)
        per_col = ", ".join(f"count(*) FILTER (WHERE d.{c} IS DISTINCT FROM o.{c}) AS {c}" for c in cols)
        row = con.execute(f"SELECT count(*), count(*) FILTER (WHERE {differs}), {per_col} FROM d FULL JOIN o USING (record_id)").fetchone()
        joined, differ = row[0], row[1]
        col_diffs = {c: v for c, v in zip(cols, row[2:]) if v}
        examples = con.execute(f"""
            SELECT record_id, o.trafficking_form, o.venue, o.rule_id AS ours, d.rule_id AS duckdb,
                   o.evidence, d.evidence, o.undetermined_reason, d.undetermined_reason
            FROM d FULL JOIN o USING (record_id) WHERE {differs} LIMIT 5
        """).fetchall()
        result["store"] = {"duckdb_records": n_d, "safetynet_records": n_o, "records_compared": joined,
                           "records_differing": differ, "columns_differing": col_diffs,
                           "examples": [[str(x) for x in e] for e in examples]}
        ok &= n_d == n_o == joined and differ == 0
    if args.ours_tables:
        tables = {}
        for f in sorted((workdir / "report" / "tables").glob("*.csv")):
            theirs = Path(args.ours_tables) / f.name
            if not theirs.exists():
                tables[f.stem] = "no safetynet table"
                ok = False
                continue
            a = list(csv.reader(open(f, encoding="utf-8")))
            b = [r for r in csv.reader(open(theirs, encoding="utf-8")) if r]
            bad = sum(1 for x, y in zip(a, b) if len(x) != len(y) or not all(close(p, q) for p, q in zip(x, y)))
            bad += abs(len(a) - len(b))
            tables[f.stem] = "same" if bad == 0 else f"{bad} of {max(len(a), len(b))} rows differ"
            ok &= bad == 0
        result["tables"] = tables
    result["ok"] = ok
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=["ingest", "classify", "report", "check"])
    ap.add_argument("csv", help="the generated export (ingest); ignored by the other stages")
    ap.add_argument("workdir", help="holds store/, quarantine.csv, report/")
    ap.add_argument("--rules", default=str(REPO / "rules" / "rules.toml"))
    ap.add_argument("--typology", default=str(REPO / "rules" / "typology.toml"))
    ap.add_argument("--vocab", default=str(REPO / "src" / "base" / "vocab.rs"), help="code lists in vocabulary order")
    ap.add_argument("--countries", default=str(REPO / "src" / "base" / "countries.rs"), help="the ISO 3166-1 alpha-2 list")
    ap.add_argument("--queries", default=str(REPO / "queries"))
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--ours-store", help="check: a safetynet store to compare with")
    ap.add_argument("--ours-tables", help="check: a directory of `safetynet query --format csv` outputs")
    args = ap.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    global THREADS
    THREADS = args.threads
    rules = Rules(Path(args.rules), Path(args.typology), Path(args.vocab), Path(args.countries))
    result = {"ingest": ingest, "classify": classify, "report": report, "check": check}[args.stage](args, rules)
    result["duckdb"] = duckdb.__version__
    print(json.dumps(result, ensure_ascii=False))
    if args.stage == "check" and not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
