#!/usr/bin/env python3
"""What disclosure control costs a report: published against true counts.

Compares a published report folder with the same report written with
`--no-suppression` (true counts, NOT FOR PUBLICATION) cell by cell, over
every count column that `disclosure.json` declares, and prints:

  * cells: count cells compared (zeros included);
  * suppressed: shown as `x` (primary: true count 1..K-1; the rest secondary);
  * perturbed: published with a value other than the true one;
  * mean |change|: mean absolute difference over published non-zero counts;
  * largest |change|.

Usage: scripts/disclosure_cost.py PUBLISHED_DIR TRUE_DIR
Standard library only.
"""
import csv
import json
import os
import sys


def table(folder, name):
    with open(os.path.join(folder, "tables", name + ".csv"), newline="", encoding="utf-8") as f:
        # the internal report's stamp line comes first
        lines = [line for line in f if not line.startswith("# NOT FOR PUBLICATION")]
        return list(csv.DictReader(lines))


def main(published_dir, true_dir):
    with open(os.path.join(published_dir, "disclosure.json"), encoding="utf-8") as f:
        model = json.load(f)
    k = model["min_cell"]
    cells = suppressed = primary = perturbed = 0
    changes = []
    for spec in model["tables"]:
        published, truth = table(published_dir, spec["name"]), table(true_dir, spec["name"])
        if len(published) != len(truth):
            sys.exit(f"{spec['name']}: {len(published)} rows published, {len(truth)} true")
        # rows are matched on what they are about, not their order (a table
        # ranked by a count is ordered by the published one)
        derived = {c for d in spec["derived"] for c in d["columns"]}
        not_key = set(spec["counts"]) | derived | {"rank"}
        not_key |= {f"{c}_{end}" for c in spec["counts"] for end in ("low", "high")}

        def key(row):
            return tuple((c, v) for c, v in row.items() if c not in not_key)

        true_by_key = {key(row): row for row in truth}
        for shown_row in published:
            true_row = true_by_key[key(shown_row)]
            for column in spec["counts"]:
                shown, true = shown_row[column], true_row[column]
                if true == "":
                    continue
                cells += 1
                true = int(true)
                if shown == "x":
                    suppressed += 1
                    primary += 1 <= true < k
                    continue
                shown = int(shown)
                if true > 0:
                    changes.append(abs(shown - true))
                perturbed += shown != true
    published_nonzero = len(changes)
    print(f"K = {k}, noise bound D = {model.get('max_noise', 0)}")
    print(f"count cells: {cells}")
    print(f"suppressed: {suppressed} ({100 * suppressed / cells:.1f}%): "
          f"{primary} below K, {suppressed - primary} to protect them")
    print(f"published non-zero: {published_nonzero}; perturbed: {perturbed} "
          f"({100 * perturbed / max(published_nonzero, 1):.1f}%)")
    if changes:
        print(f"mean |change| over published non-zero counts: {sum(changes) / len(changes):.2f}; "
              f"largest: {max(changes)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
