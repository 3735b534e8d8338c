#!/usr/bin/env python3
"""The DuckDB side of benches/run.sh, one stage per process.

    python duckdb_pipeline.py STAGE [options]

Stages (each meant to run as its own process, so that the operating system's
peak-memory figure is the stage's own):

  copy-csv     (a1) --csv --workdir: the plain floor of ingest,
               COPY (SELECT * FROM read_csv(CSV)) TO WORKDIR/data.parquet
               (FORMAT parquet, COMPRESSION lz4_raw): no validation.
  ingest       (a2) --csv --workdir: CSV export -> validated, de-duplicated,
               classified Parquet store (WORKDIR/store/data/reporting_country=CC/
               year=YYYY/*.parquet) and a quarantine CSV, like `safetynet ingest`.
  prepare-sql  --out: the report's queries as both engines run them (every
               queries/*.sql without `-- requires:`, protected_count( and
               published_count( rewritten to count( ).
  queries      (b) --store --sql --out --from-year --to-year: every prepared
               query over the files of a safetynet store (its manifest), with
               the same parameters as `safetynet query`; per-query times
               (execute + fetch all) in the JSON line; results as CSV in --out.
  copy-store   (d) --store --workdir: COPY of a safetynet store's files to a
               lz4_raw Parquet store partitioned like ours: the floor of classify.
  classify     (d+) --workdir: reclassify WORKDIR/store with the rules (a new
               store written next to the old one, then swapped in).
  check        not timed: our store against DuckDB's validated store record
               by record, every column; both sides' query CSVs cell by cell.
               Exit 1 on any difference.

Only standard Python plus the duckdb package (>= 1.3 for the `lambda x:`
syntax). Rules are read from rules/rules.toml with tomllib, the type names
from rules/typology.toml, the code lists (in vocabulary order) from
src/base/vocab.rs, the country list from src/base/countries.rs and the UN M49
regions from rules/countries.csv and rules/regions.csv, all read-only.
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
    "perpetrator_count", "perpetrator_roles", "perpetrator_genders", "perpetrator_age_groups",
    "perpetrator_citizenships", "perpetrator_relations", "perpetrator_money_paid",
    "perpetrator_transaction", "perpetrator_control_abuse",
]
REQUIRED_COLUMNS = ["record_id", "reporting_country", "trafficking_form"]
# ;-joined lists of codes (perpetrator_citizenships is a list of places, apart)
LIST_COLUMNS = [
    "sectors", "recruitment_tactics", "recruiter_relations", "control_methods",
    "perpetrator_roles", "perpetrator_genders", "perpetrator_age_groups", "perpetrator_relations",
]
FLAG_COLUMNS = ["abduction", "perpetrator_money_paid", "perpetrator_transaction", "perpetrator_control_abuse"]
# what the store derives before classification (src/base/schema.rs derived_fields)
DERIVED_COLUMNS = [
    "foreign_national", "year_from", "year_to", "exploitation_region", "exploitation_subregion",
    "citizenship_region", "citizenship_subregion", "perpetrator_regions",
]
CLASS_COLUMNS = [
    "classification", "typology_id", "typology_name", "extension_category",
    "rule_id", "confidence", "evidence", "undetermined_reason",
]
STORE_COLUMNS = INPUT_COLUMNS + DERIVED_COLUMNS + CLASS_COLUMNS

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
            "perpetrator_roles": vocab.get("PERPETRATOR_ROLES") or [],
            "perpetrator_genders": vocab.get("GENDERS"),
            "perpetrator_age_groups": vocab.get("PERPETRATOR_AGE_GROUPS") or [],
            "perpetrator_relations": vocab.get("PERPETRATOR_RELATIONS") or [],
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
        if r.get("concepts") or not conds:
            # concepts (word families across languages) are not done in SQL:
            # such a rule never matches here, a known difference (README)
            conds = ["false"]
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
    base = ", ".join(f"s.{c}" for c in INPUT_COLUMNS + DERIVED_COLUMNS)
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
    """Parquet partitioned by reporting country and year, lz4_raw (our store's codec); the partition
    columns are also kept inside the files, as in our store."""
    (target / "data").mkdir(parents=True, exist_ok=True)
    con.execute(f"""
        COPY ({select_sql}) TO {sql_str(str(target / 'data'))}
        (FORMAT parquet, COMPRESSION lz4_raw, PARTITION_BY (reporting_country, year),
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
NOT_A_PLACE = ("not a country (ISO 3166-1 alpha-2 or alpha-3 code, or an English, Spanish or French name) "
               "nor a UN M49 region")
SQL_CONTRADICTS = "'contradicts age band ' || age_band"
SQL_SUB_ELSEWHERE = "'subdivision ' || sub_code || ' is not in exploitation country ' || exploitation_country"


def create_place_macros(con, rules_dir: Path) -> None:
    """region_of(country) and subregion_of(country): the UN M49 region and the
    level just below it, as src/base/places.rs regions_of walks
    rules/countries.csv (country -> subregion) and rules/regions.csv (parents)."""
    with open(rules_dir / "regions.csv", newline="", encoding="utf-8") as f:
        parent = {r["code"]: r["parent"] or None for r in csv.DictReader(f)}
    with open(rules_dir / "countries.csv", newline="", encoding="utf-8") as f:
        subregion = {r["alpha2"]: r["subregion"] for r in csv.DictReader(f)}
    region, below = {}, {}
    for country, start in subregion.items():
        if start not in parent:
            continue
        current, lower = start, None
        while parent.get(current):
            lower, current = current, parent[current]
        region[country], below[country] = current, lower

    def sql_map(d):
        return "MAP {" + ", ".join(f"{sql_str(k)}: {sql_str(v)}" for k, v in d.items() if v) + "}"

    con.execute(f"CREATE MACRO region_of(c) AS map_extract_value({sql_map(region)}, c)")
    con.execute(f"CREATE MACRO subregion_of(c) AS map_extract_value({sql_map(below)}, c)")


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
      - foreign_national derived; classified (see classify); written as lz4_raw
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

    # The file is first loaded as text into a table, in parallel; the table's
    # rowid then numbers the rows in file order (0-based; DuckDB keeps the
    # insertion order by default, preserve_insertion_order). The older
    # `row_number() OVER ()` over read_csv ran single-threaded, and DuckDB
    # 2.0's read_csv has no file_row_number option ("not supported by this
    # reader"), so this is the way that keeps every core busy.
    t0 = time.perf_counter()
    con.execute(f"""
        CREATE TEMP TABLE raw_csv AS
        SELECT * FROM read_csv({sql_str(str(csv_path))}, header = true, all_varchar = true, delim = ',', quote = '"')
    """)

    # level 1: trimmed text, parsed numbers, list parts
    level1 = ["rowid + 1 AS rownum"]  # 1-based data row: the header is row 1 of the file, see quarantine
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
    create_place_macros(con, Path(args.places))
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

    def flag(c):  # yes/no words; "not recorded" labels are null, anything else a problem (below)
        return (f"CASE WHEN r_{c} IS NULL THEN NULL WHEN list_contains({bool_true}, norm_label(r_{c})) THEN true "
                f"WHEN list_contains({bool_false}, norm_label(r_{c})) THEN false END")

    def flag_bad(c):
        return f"(r_{c} IS NOT NULL AND {c} IS NULL AND NOT list_contains({notrec}, norm_label(r_{c})))"

    # perpetrator_citizenships: ;-joined country codes (ours also takes names
    # and M49 regions), "not recorded" parts dropped, sorted, de-duplicated
    level1.append(
        f"list_filter(list_transform(string_split({raw('perpetrator_citizenships')}, ';'), lambda p: upper(trim(p))), "
        f"lambda p: p <> '' AND NOT list_contains({notrec}, norm_label(p))) AS p_perpetrator_citizenships"
    )
    level1.append(f"TRY_CAST({raw('perpetrator_count')} AS DOUBLE) AS n_pcount")

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
    ] + [f"{flag(c)} AS {c}" for c in FLAG_COLUMNS] + [
        "p_perpetrator_citizenships",
        "n_pcount",
        # 0 and "not recorded" are null (registers write 0 when they could not count)
        f"CASE WHEN {whole('n_pcount')} AND n_pcount BETWEEN 1 AND 10000 THEN n_pcount::INTEGER END AS perpetrator_count",
        "CASE WHEN len(p_perpetrator_citizenships) > 0 THEN list_sort(list_distinct("
        "list_filter(p_perpetrator_citizenships, lambda p: is_plain_country(p)))) END AS perpetrator_citizenships",
        "list_filter(p_perpetrator_citizenships, lambda p: NOT is_plain_country(p)) AS bad_perpetrator_citizenships",
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
    ] + [
        f"CASE WHEN {flag_bad(c)} THEN {p(c, f'r_{c}', 'not a yes/no value')} END" for c in FLAG_COLUMNS
    ] + [
        f"CASE WHEN r_perpetrator_count IS NOT NULL AND NOT list_contains({notrec}, norm_label(r_perpetrator_count)) THEN "
        f"CASE WHEN n_pcount IS NULL OR NOT {whole('n_pcount')} THEN {p('perpetrator_count', 'r_perpetrator_count', 'malformed number')} "
        f"WHEN n_pcount NOT BETWEEN 0 AND 10000 THEN {p('perpetrator_count', 'r_perpetrator_count', 'outside 0 to 10000')} END END",
        f"CASE WHEN len(bad_perpetrator_citizenships) > 0 THEN "
        f"{problem('perpetrator_citizenships', 'bad_perpetrator_citizenships[1]', sql_str(NOT_A_PLACE))} END",
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
           # one year: year_from = year_to = year (ours also reads periods such as 2014-2018)
           "year AS year_from", "year AS year_to",
           "region_of(exploitation_country) AS exploitation_region",
           "subregion_of(exploitation_country) AS exploitation_subregion",
           "region_of(citizenship) AS citizenship_region",
           "subregion_of(citizenship) AS citizenship_subregion",
           "CASE WHEN len(perpetrator_citizenships) > 0 THEN list_sort(list_distinct(list_filter("
           "list_transform(perpetrator_citizenships, lambda c: region_of(c)), lambda r: r IS NOT NULL))) END AS perpetrator_regions",
           "list_filter([" + ", ".join(checks) + "], lambda p: p IS NOT NULL) AS problems"]
    )

    con.execute(f"""
        CREATE TEMP TABLE checked AS
        WITH l1 AS (SELECT {', '.join(level1)} FROM raw_csv),
        l2 AS (SELECT {', '.join(level2)} FROM l1)
        SELECT {level3} FROM l2
    """)
    read = con.execute("SELECT count(*) FROM checked").fetchone()[0]
    con.execute("DROP TABLE raw_csv")

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
# the plain floors: a COPY of the CSV, a COPY of the store
# ---------------------------------------------------------------------------

def store_files(store: Path) -> list[str]:
    """The data files of a safetynet store, from its manifest (`data_files`,
    relative to the store): exactly the files its own queries read, not a glob
    that could also pick up files of an older generation."""
    manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    return [str(store / f) for f in manifest["data_files"]]


def read_store_sql(store: Path) -> str:
    files = ", ".join(sql_str(f) for f in store_files(store))
    return f"read_parquet([{files}], hive_partitioning = false)"


def fresh_output(out: Path):
    """An empty output directory (replaced) and a plain DuckDB connection."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out, duckdb.connect()


def copy_csv(args, rules: Rules) -> dict:
    """(a1) The floor of ingest: DuckDB's plain CSV -> Parquet, no validation,
    no classification, types guessed by read_csv's sniffer, one lz4_raw file,
    no partitioning."""
    out, con = fresh_output(Path(args.workdir))
    t0 = time.perf_counter()
    target = out / "data.parquet"
    con.execute(f"COPY (SELECT * FROM read_csv({sql_str(str(args.csv))})) TO {sql_str(str(target))} "
                "(FORMAT parquet, COMPRESSION lz4_raw)")
    rows = con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(target))})").fetchone()[0]
    return {"stage": "copy-csv", "rows": rows, "seconds": round(time.perf_counter() - t0, 3)}


def copy_store(args, rules: Rules) -> dict:
    """(d) The floor of classify: read every file of the safetynet store and
    write it all again, lz4_raw, partitioned by reporting country and year with
    the partition columns kept in the files (as in our store)."""
    out, con = fresh_output(Path(args.workdir))
    t0 = time.perf_counter()
    files = store_files(Path(args.store))
    con.execute(f"""
        COPY (SELECT * FROM {read_store_sql(Path(args.store))}) TO {sql_str(str(out / 'data'))}
        (FORMAT parquet, COMPRESSION lz4_raw, PARTITION_BY (reporting_country, year), WRITE_PARTITION_COLUMNS true)
    """)
    return {"stage": "copy-store", "files_read": len(files),
            "files_written": sum(1 for _ in (out / "data").rglob("*.parquet")),
            "seconds": round(time.perf_counter() - t0, 3)}


# ---------------------------------------------------------------------------
# the report's queries, engine against engine
# ---------------------------------------------------------------------------

COUNTING_UDAFS = re.compile(r"\b(protected_count|published_count)\(")


def prepare_sql(args, rules: Rules) -> dict:
    """Write the queries both engines run to --out: every queries/*.sql
    without a `-- requires:` line (those need a table besides `cases`; the
    report skips them too), with safetynet's counting aggregates
    protected_count( and published_count( turned into count(: counted as
    victims (the default unit) they are count(unit_id), and DuckDB has no
    such functions. Nothing else is changed; both sides run these files."""
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    written, skipped = [], []
    for f in sorted(Path(args.queries).glob("*.sql")):
        text = f.read_text(encoding="utf-8")
        if re.search(r"^--\s*requires:", text, re.M):
            skipped.append(f.name)
            continue
        (out / f.name).write_text(COUNTING_UDAFS.sub("count(", text), encoding="utf-8")
        written.append(f.name)
    return {"stage": "prepare-sql", "written": written, "skipped": skipped}


def name_values(sql: str) -> str:
    """A VALUES list gets DataFusion's column names column1, column2, ...
    (DuckDB calls them col0, col1, ...): the one adaptation DuckDB needs."""
    def named(m):
        first = re.match(r"\s*\(([^()]*)\)", m.group(1))
        n = len(first.group(1).split(",")) if first else 1
        cols = ", ".join(f"column{i + 1}" for i in range(n))
        return f"FROM (VALUES {m.group(1)}) AS v({cols})"

    return re.sub(r"FROM \(VALUES ((?:\s*\([^()]*\)\s*,?)+)\)", named, sql)


def create_wilson_macros(con) -> None:
    """The same 95% Wilson score interval as src/sql/udf.rs (null when n <= 0
    or x outside 0..n)."""
    z = 1.959963984540054
    for name, op, bound in (("wilson_lo", "-", "greatest(0.0,"), ("wilson_hi", "+", "least(1.0,")):
        con.execute(f"""
            CREATE MACRO {name}(x, n) AS CASE WHEN n > 0 AND x >= 0 AND x <= n THEN {bound}
              ((x / n + {z * z} / (2.0 * n)) / (1.0 + {z * z} / n))
              {op} {z} / (1.0 + {z * z} / n) * sqrt((x / n) * (1.0 - x / n) / n + {z * z} / (4.0 * n * n))) END
        """)


def queries(args, rules: Rules) -> dict:
    """(b) Every file of --sql (written by prepare-sql) over the files of the
    safetynet store --store, with the same parameters safetynet gets: the
    years --from-year..--to-year, all countries, unit victims, as DuckDB named
    parameters ($from_year ...). Each query is timed from execute to the last
    row fetched; writing its CSV to --out is not timed. With --only NAME,
    the one file of that name (its stem): the statement in a fresh process,
    as each of ours runs."""
    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(f"CREATE VIEW cases AS SELECT * FROM {read_store_sql(Path(args.store))}")
    create_wilson_macros(con)
    setup = time.perf_counter() - t0
    params = {"from_year": args.from_year, "to_year": args.to_year, "countries": "", "unit": "victims"}
    seconds, rows = {}, {}
    files = sorted(Path(args.sql).glob("*.sql"))
    if args.only is not None:
        files = [f for f in files if f.stem == args.only]
        if not files:
            raise SystemExit(f"queries --only {args.only}: no {args.only}.sql in {args.sql}")
    for f in files:
        sql = name_values(f.read_text(encoding="utf-8"))
        # DuckDB refuses parameters a statement does not use: pass the ones
        # its text (comments left out) names
        code = re.sub(r"--[^\n]*", "", sql)
        used = {k: v for k, v in params.items() if re.search(rf"\${k}\b", code)}
        t = time.perf_counter()
        cur = con.execute(sql, used)
        result = cur.fetchall()
        seconds[f.stem] = round(time.perf_counter() - t, 4)
        header = [d[0] for d in cur.description]
        with open(out / (f.stem + ".csv"), "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            w.writerows(result)
        rows[f.stem] = len(result)
    return {"stage": "queries", "from": args.from_year, "to": args.to_year, "files": len(store_files(Path(args.store))),
            "setup_seconds": round(setup, 4), "seconds": seconds, "rows": rows,
            "total_seconds": round(time.perf_counter() - t0, 3)}


# ---------------------------------------------------------------------------
# check (not timed)
# ---------------------------------------------------------------------------

def normalise(cell: str) -> str:
    """One text for one number: 12.30, 12.3 and 1.23e1 all read 12.3, and 100.0
    reads 100; anything else as written (the empty cell is null on both sides)."""
    try:
        x = float(cell)
    except ValueError:
        return cell
    if math.isnan(x) or math.isinf(x):
        return cell.lower()
    return str(int(x)) if x == int(x) and abs(x) < 1e15 else repr(x)


def close(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=0.051)  # values rounded to 0.1


def compare_tables(ours: Path, theirs: Path) -> tuple[dict, bool]:
    """Per query: "same" when both CSVs are identical as text once numbers are
    written one way (normalise); otherwise how many rows differ and the first
    differing pair. Rows within close()'s tolerance are named apart."""
    tables, ok = {}, True
    names = sorted({f.stem for f in ours.glob("*.csv")} | {f.stem for f in theirs.glob("*.csv")})
    for name in names:
        a_path, b_path = ours / f"{name}.csv", theirs / f"{name}.csv"
        if not a_path.exists() or not b_path.exists():
            tables[name] = "missing on the " + ("safetynet" if not a_path.exists() else "DuckDB") + " side"
            ok = False
            continue
        a = [r for r in csv.reader(open(a_path, newline="", encoding="utf-8")) if r]
        b = [r for r in csv.reader(open(b_path, newline="", encoding="utf-8")) if r]
        differing, nearly, first = 0, 0, None
        for x, y in zip(a, b):
            if len(x) == len(y) and all(normalise(p) == normalise(q) for p, q in zip(x, y)):
                continue
            if len(x) == len(y) and all(close(p, q) for p, q in zip(x, y)):
                nearly += 1
            differing += 1
            first = first or {"safetynet": x, "duckdb": y}
        differing += abs(len(a) - len(b))
        if differing == 0:
            tables[name] = "same"
        else:
            ok = False
            tables[name] = {"rows_differing": differing, "rows": [len(a), len(b)],
                            "within_float_tolerance": nearly, "first": first}
    return tables, ok


def check(args, rules: Rules) -> dict:
    """Our store against DuckDB's validated store, record by record, every
    column both hold (columns only one side has are reported); and the two
    sides' CSVs of the report queries, cell by cell."""
    con = duckdb.connect()
    result = {"stage": "check"}
    ok = True
    if args.ours_store and args.duckdb_store:
        con.execute(f"CREATE VIEW o AS SELECT * FROM {read_store_sql(Path(args.ours_store))}")
        con.execute(f"CREATE VIEW d AS SELECT * FROM read_parquet({sql_str(store_glob(Path(args.duckdb_store)))}, hive_partitioning = false)")
        o_cols = [r[0] for r in con.execute("DESCRIBE o").fetchall()]
        d_cols = [r[0] for r in con.execute("DESCRIBE d").fetchall()]
        cols = [c for c in o_cols if c in d_cols and c != "record_id"]
        n_d, n_o = con.execute("SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM o)").fetchone()
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
        only_o = [c for c in o_cols if c not in d_cols]
        only_d = [c for c in d_cols if c not in o_cols]
        result["store"] = {"duckdb_records": n_d, "safetynet_records": n_o, "records_compared": joined,
                           "records_differing": differ, "columns_differing": col_diffs,
                           "columns_only_safetynet": only_o, "columns_only_duckdb": only_d,
                           "examples": [[str(x) for x in e] for e in examples]}
        # The SQL classifier has no word forms, slip correction or concepts
        # (benches/README.md): on those records DuckDB does less work and may
        # name another rule. Such differences are counted and shown, never
        # hidden; every validated (non-classification) column must agree.
        validated_diffs = {c: v for c, v in col_diffs.items() if c not in CLASS_COLUMNS}
        classified_diffs = {c: v for c, v in col_diffs.items() if c in CLASS_COLUMNS}
        n_class = con.execute(
            "SELECT count(*) FROM d JOIN o USING (record_id) WHERE "
            + " OR ".join(f"d.{c} IS DISTINCT FROM o.{c}" for c in cols if c in CLASS_COLUMNS)
        ).fetchone()[0] if any(c in CLASS_COLUMNS for c in cols) else 0
        result["store"]["validated_columns_differing"] = validated_diffs
        result["store"]["classification_columns_differing"] = classified_diffs
        result["store"]["records_classified_differently"] = n_class
        store_ok = n_d == n_o == joined and not validated_diffs and not only_o and not only_d
        result["store_ok"] = store_ok
        ok &= store_ok
    if args.ours_tables and args.duckdb_tables:
        result["tables"], tables_ok = compare_tables(Path(args.ours_tables), Path(args.duckdb_tables))
        result["tables_ok"] = tables_ok
        ok &= tables_ok
    result["ok"] = ok
    return result


STAGES = {
    "ingest": ingest, "classify": classify, "copy-csv": copy_csv, "copy-store": copy_store,
    "prepare-sql": prepare_sql, "queries": queries, "check": check,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("stage", choices=list(STAGES))
    ap.add_argument("--csv", help="ingest, copy-csv: the generated export")
    ap.add_argument("--workdir", help="ingest, classify: holds store/ and quarantine.csv; copy-csv, copy-store: the output directory (replaced)")
    ap.add_argument("--store", help="queries, copy-store: the safetynet store whose manifest lists the files to read")
    ap.add_argument("--sql", help="queries: the directory of rewritten .sql files (prepare-sql)")
    ap.add_argument("--out", help="prepare-sql: where to write the .sql files; queries: where to write the CSVs (replaced)")
    ap.add_argument("--from-year", type=int, help="queries: $from_year")
    ap.add_argument("--to-year", type=int, help="queries: $to_year")
    ap.add_argument("--only", help="queries: run only the file of this name (without .sql)")
    ap.add_argument("--rules", default=str(REPO / "rules" / "rules.toml"))
    ap.add_argument("--typology", default=str(REPO / "rules" / "typology.toml"))
    ap.add_argument("--vocab", default=str(REPO / "src" / "base" / "vocab.rs"), help="code lists in vocabulary order")
    ap.add_argument("--countries", default=str(REPO / "src" / "base" / "countries.rs"), help="the ISO 3166-1 alpha-2 list")
    ap.add_argument("--places", default=str(REPO / "rules"), help="holds countries.csv and regions.csv (UN M49)")
    ap.add_argument("--queries", default=str(REPO / "queries"), help="prepare-sql: the report's queries")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: DuckDB's own, all cores)")
    ap.add_argument("--ours-store", help="check: the safetynet store")
    ap.add_argument("--duckdb-store", help="check: the DuckDB validated store (WORKDIR/store of ingest)")
    ap.add_argument("--ours-tables", help="check: the safetynet query CSVs")
    ap.add_argument("--duckdb-tables", help="check: the DuckDB query CSVs")
    args = ap.parse_args()
    needs = {"ingest": ["csv", "workdir"], "classify": ["workdir"], "copy-csv": ["csv", "workdir"],
             "copy-store": ["store", "workdir"], "prepare-sql": ["out"],
             "queries": ["store", "sql", "out", "from_year", "to_year"], "check": []}[args.stage]
    missing = [n for n in needs if getattr(args, n) is None]
    if missing:
        ap.error(f"{args.stage} needs " + ", ".join("--" + m.replace("_", "-") for m in missing))
    global THREADS
    THREADS = args.threads
    rules = Rules(Path(args.rules), Path(args.typology), Path(args.vocab), Path(args.countries))
    result = STAGES[args.stage](args, rules)
    result["duckdb"] = duckdb.__version__
    print(json.dumps(result, ensure_ascii=False))
    if args.stage == "check" and not result["ok"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
