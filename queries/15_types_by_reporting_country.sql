-- Produces: records by reporting country and typology type (or extension category, or undetermined) over the period.
-- From: cases (classified store).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Records by reporting country and type
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: share_pct is the type's share of all the reporting country's records of the period (95% Wilson interval); the report's section for each reporting country is drawn from this table.
-- cells: n = records(reporting_country, category)
-- cells: denominator = records(reporting_country)
-- sum: records(reporting_country, category) over category
-- sum: records(reporting_country, category) over reporting_country
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
-- grouped on the stored columns and named after the grouping, so that each
-- name is computed once per group, not once per record; on the type's
-- number, not its name (a type has one name, so max(typology_name) is it):
-- integers group faster than text
labelled AS (
  SELECT reporting_country, unit_id, classification, typology_id AS type_id, typology_name, extension_category
  FROM selected
),
totals AS (SELECT reporting_country, protected_count(unit_id) AS denominator FROM labelled GROUP BY reporting_country),
counts AS (
  SELECT reporting_country,
    CASE classification WHEN 'typology' THEN 1 WHEN 'extension' THEN 2 ELSE 3 END AS section_order,
    type_id, coalesce(max(typology_name), extension_category, 'not determined') AS category, protected_count(unit_id) AS n
  FROM labelled GROUP BY reporting_country, classification, type_id, extension_category
)
SELECT c.reporting_country,
  CASE c.section_order WHEN 1 THEN 'typology' WHEN 2 THEN 'extension (outside the 25 types)' ELSE 'undetermined' END AS section,
  c.type_id, c.category, c.n, t.denominator,
  round(100.0 * c.n / t.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, t.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, t.denominator), 1) AS ci_high_pct
FROM counts c JOIN totals t ON t.reporting_country = c.reporting_country
ORDER BY c.reporting_country, c.section_order, c.type_id NULLS LAST, c.category
