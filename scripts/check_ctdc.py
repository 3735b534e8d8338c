#!/usr/bin/env python3
"""Reconciles `safetynet ingest --format ctdc` with the raw CTDC file.

Counts are taken from the raw CSV with Python's own csv module (an
independent reader) and from the store with `safetynet query` (DataFusion
SQL over the stored Parquet), and must agree:

  * every raw row is stored or quarantined (no duplicates, nothing lost);
  * totals by year of registration and by country of exploitation;
  * for every control-method, sector and recruiter-relation flag column,
    the number of rows with the flag set to 1.

Rows the ingest quarantined are left out of the raw counts (their line
numbers come from the quarantine file), and the quarantine reasons are
printed so a reviewer can see they are about those rows.

Usage: scripts/check_ctdc.py CTDC_CSV SAFETYNET_BINARY WORK_DIR
Standard library only; exits non-zero on any mismatch.
"""
import collections
import csv
import json
import os
import subprocess
import sys

# canonical code of each flag column, by column-name prefix and suffix
FLAG_GROUPS = {
    "control_methods": ("meansOfControl", {
        "DebtBondage": "debt_bondage", "TakesEarnings": "takes_earnings",
        "RestrictsFinancialAccess": "restricts_financial_access", "Threats": "threats",
        "PsychologicalAbuse": "psychological_abuse", "PhysicalAbuse": "physical_abuse",
        "SexualAbuse": "sexual_abuse", "FalsePromises": "false_promises",
        "PsychoactiveSubstances": "psychoactive_substances",
        "RestrictsMovement": "restricts_movement",
        "RestrictsMedicalCare": "restricts_medical_care",
        "ExcessiveWorkingHours": "excessive_working_hours", "UsesChildren": "uses_children",
        "ThreatOfLawEnforcement": "threat_of_law_enforcement",
        "WithholdsNecessities": "withholds_necessities",
        "WithholdsDocuments": "withholds_documents", "Other": "other"}),
    "recruiter_relations": ("recruiterRelation", {
        "IntimatePartner": "intimate_partner", "Friend": "friend_acquaintance",
        "Family": "family", "Other": "other"}),
    "sectors": ("", {
        "typeOfLabourAgriculture": "agriculture", "typeOfLabourAquafarming": "aquafarming",
        "typeOfLabourBegging": "begging", "typeOfLabourConstruction": "construction",
        "typeOfLabourDomesticWork": "domestic_work", "typeOfLabourHospitality": "hospitality",
        "typeOfLabourIllicitActivities": "illicit_activities",
        "typeOfLabourManufacturing": "manufacturing",
        "typeOfLabourMiningOrDrilling": "mining_or_drilling",
        "typeOfLabourPeddling": "peddling", "typeOfLabourTransportation": "transportation",
        "typeOfLabourOther": "other_labour", "typeOfSexProstitution": "prostitution",
        "typeOfSexPornography": "pornography",
        "typeOfSexRemoteInteractiveServices": "remote_interactive_services",
        "typeOfSexPrivateSexualServices": "private_sexual_services",
        "isForcedMarriage": "forced_marriage", "isForcedMilitary": "forced_military",
        "isOrganRemoval": "organ_removal", "isSlaveryAndPractices": "slavery_practices",
        "isOtherExploit": "other_exploitation"}),
}


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out.stdout


def query(binary, store, sql):
    text = run([binary, "query", "--store", store, "--format", "csv", sql])
    return list(csv.reader(text.splitlines()))[1:]


def year_key(raw):
    raw = raw.strip()
    if not raw:
        return "unknown"
    return str(int(float(raw)))


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    source, binary, work = sys.argv[1:]
    store = os.path.join(work, "ctdc-store")
    summary = json.loads(run([binary, "--quiet", "ingest", "--format", "ctdc", "--country", "XX",
                              source, "--store", store, "--json"]))
    read, stored = summary["read"], summary["stored"]
    quarantined, duplicates = summary["quarantined"], summary["duplicates"]
    print(f"ingest: read {read} = stored {stored} + quarantined {quarantined} + duplicates {duplicates}")

    quarantined_lines = set()
    reasons = collections.Counter()
    qfile = summary["files"][0].get("quarantine_file")
    if qfile:
        with open(os.path.join(store, qfile), newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                quarantined_lines.add(int(row["row"]))
                reasons[(row["column"], row["reason"])] += 1
    for (column, reason), n in reasons.most_common():
        print(f"  quarantined: {n:6} x {column}: {reason}")

    raw_rows = 0
    by_year = collections.Counter()
    by_country = collections.Counter()
    flags = collections.Counter()
    with open(source, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            raw_rows += 1
            if reader.line_num in quarantined_lines:
                continue
            by_year[year_key(row["yearOfRegistration"])] += 1
            by_country[row["CountryOfExploitation"].strip().upper() or "unknown"] += 1
            for field, (prefix, codes) in FLAG_GROUPS.items():
                for suffix, code in codes.items():
                    if row[prefix + suffix].strip() in ("1", "1.0"):
                        flags[(field, code)] += 1

    failures = []

    def expect(what, ours, theirs):
        if ours != theirs:
            failures.append(f"{what}: store {ours}, raw file {theirs}")

    expect("rows read", read, raw_rows)
    expect("rows accounted for", stored + quarantined + duplicates, raw_rows)
    expect("duplicates", duplicates, 0)
    expect("quarantined rows", quarantined, len(quarantined_lines))

    store_year = {y or "unknown": int(n) for y, n in query(
        binary, store, "SELECT CAST(year AS VARCHAR), count(*) FROM cases GROUP BY 1")}
    expect("records by year", store_year, dict(by_year))
    store_country = {c or "unknown": int(n) for c, n in query(
        binary, store, "SELECT exploitation_country, count(*) FROM cases GROUP BY 1")}
    expect("records by country of exploitation", store_country, dict(by_country))
    for field, (_, codes) in FLAG_GROUPS.items():
        rows = query(binary, store,
                     f"SELECT code, count(*) FROM (SELECT unnest({field}) AS code FROM cases) GROUP BY 1")
        stored_flags = {c: int(n) for c, n in rows}
        for code in codes.values():
            expect(f"{field} = {code}", stored_flags.get(code, 0), flags[(field, code)])

    checked = 4 + sum(len(c) for _, c in FLAG_GROUPS.values())
    if failures:
        print("CTDC reconciliation FAILED:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print(f"CTDC reconciliation passed: {raw_rows} rows, {len(by_year)} years, "
          f"{len(by_country)} countries of exploitation, {checked} checks")


if __name__ == "__main__":
    main()
