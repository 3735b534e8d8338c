-- Produces: classification coverage: records with a type, an extension category, or undetermined (by reason),
--   plus the records left out of the report because their year was not recorded.
-- From: cases (classified store).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Classification coverage
-- counts: n, denominator
-- derived: share_pct from n, denominator
-- note: share_pct is the share of all records in the report; rows "left out" are not in the denominator.
WITH in_scope AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE $countries = '' OR array_has(string_to_array($countries, ','), reporting_country)
),
selected AS (SELECT * FROM in_scope WHERE year BETWEEN $from_year AND $to_year),
total AS (SELECT count(DISTINCT unit_id) AS denominator FROM selected),
outcomes AS (
  SELECT
    CASE classification WHEN 'typology' THEN 1 WHEN 'extension' THEN 2 ELSE 3 END AS outcome_order,
    classification AS outcome,
    coalesce(undetermined_reason, '') AS reason,
    count(DISTINCT unit_id) AS n
  FROM selected GROUP BY classification, undetermined_reason
)
SELECT o.outcome, o.reason, o.n, t.denominator, round(100.0 * o.n / t.denominator, 1) AS share_pct
FROM outcomes o CROSS JOIN total t
UNION ALL
SELECT 'left out: year not recorded', '', count(DISTINCT unit_id), NULL, NULL FROM in_scope WHERE year IS NULL
ORDER BY 1, 2
