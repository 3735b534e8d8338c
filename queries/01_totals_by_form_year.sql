-- Produces: detected victims (or cases) by trafficking form and year, with each form's share of the year.
-- From: cases (classified store).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Totals by trafficking form and year
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: share_pct is the form's share of all records of the year; 95% Wilson interval.
-- cells: n = records(year, trafficking_form)
-- cells: denominator = records(year)
-- sum: records(year, trafficking_form) over trafficking_form
-- sum: records(year, trafficking_form) over year = dated(trafficking_form)
-- sum: records(year) over year = dated()
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
years AS (SELECT year, protected_count(unit_id) AS denominator FROM selected GROUP BY year),
forms AS (SELECT column1 AS form, column2 AS form_order FROM (VALUES ('sex', 1), ('labor', 2), ('sex_and_labor', 3), ('other', 4), ('not_specified', 5))),
counts AS (SELECT year, trafficking_form, protected_count(unit_id) AS n FROM selected GROUP BY year, trafficking_form)
SELECT
  y.year,
  f.form AS trafficking_form,
  coalesce(c.n, 0) AS n,
  y.denominator,
  round(100.0 * coalesce(c.n, 0) / y.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(coalesce(c.n, 0), y.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(coalesce(c.n, 0), y.denominator), 1) AS ci_high_pct
FROM years y
CROSS JOIN forms f
LEFT JOIN counts c ON c.year = y.year AND c.trafficking_form = f.form
ORDER BY y.year, f.form_order
