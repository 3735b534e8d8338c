-- Produces: classification coverage: records with a type, an extension category, or undetermined (by reason);
--   the records registered over a period of several years, which the annual tables leave out; and the records
--   left out of the report because their year was not recorded, or their period reaches outside the report's years.
-- From: cases (classified store).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Classification coverage
-- summary: coverage
-- counts: n, denominator
-- derived: share_pct from n, denominator
-- note: share_pct is the share of all records in the report; the rows below the classification are not in the denominator. A record registered over a period of several years (2014-2018, as some registers give it) cannot be placed in one year: the tables by year leave it out, the tables by type count it when its whole period lies within the report's years; it is stored with its period (year_from, year_to).
-- cells: n = records(section, reason) where denominator is not null
-- cells: n = undated(section) where denominator is null
-- cells: denominator = records()
-- sum: records(section, reason) over reason
-- sum: records(section) over section
WITH in_scope AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE $countries = '' OR array_has(string_to_array($countries, ','), reporting_country)
),
selected AS (SELECT * FROM in_scope WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year),
total AS (SELECT protected_count(unit_id) AS denominator FROM selected),
outcomes AS (
  SELECT
    CASE classification WHEN 'typology' THEN 1 WHEN 'extension' THEN 2 ELSE 3 END AS section_order,
    CASE classification WHEN 'typology' THEN 'typology' WHEN 'extension' THEN 'extension (outside the 25 types)' ELSE 'undetermined' END AS section,
    coalesce(undetermined_reason, '') AS reason,
    protected_count(unit_id) AS n
  FROM selected GROUP BY classification, undetermined_reason
)
SELECT section, reason, n, denominator, share_pct FROM (
  SELECT o.section_order, o.section, o.reason, o.n, t.denominator, round(100.0 * o.n / t.denominator, 1) AS share_pct
  FROM outcomes o CROSS JOIN total t
  UNION ALL
  SELECT 4, 'not in the tables by year: a period of several years', '', protected_count(unit_id), NULL, NULL FROM selected
  WHERE year IS NULL
  UNION ALL
  SELECT 5, 'left out: year not recorded', '', protected_count(unit_id), NULL, NULL FROM in_scope
  WHERE year IS NULL AND year_from IS NULL
  UNION ALL
  SELECT 6, 'left out: a period reaching outside the years', '', protected_count(unit_id), NULL, NULL FROM in_scope
  WHERE year IS NULL AND year_from IS NOT NULL
    AND year_from <= $to_year AND year_to >= $from_year
    AND NOT (year_from >= $from_year AND year_to <= $to_year)
)
ORDER BY section_order, reason
