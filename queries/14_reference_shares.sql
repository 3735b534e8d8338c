-- Produces: the hotline's own shares of each form of exploitation beside the shares in published aggregates (`reference import`) for the same country and year, labelled with their source.
-- From: cases (classified store) and reference (published aggregates in the store; rows for all sexes and ages).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids) for the hotline's counts; the published counts are as their source gives them.
-- title: Forms of exploitation beside published figures
-- requires: reference
-- counts: n, denominator
-- derived: share_pct from n, denominator
-- note: n and share_pct are this hotline's records of the reporting country and year; reference_count and reference_share_pct are the published figures of the source named in the row, for the same country and year (share of the source's total for all forms). Only the forms the source publishes are shown. The published figures count victims detected by authorities and are not disclosure-controlled here: they are public already.
-- cells: n = records(year, reporting_country, trafficking_form)
-- cells: denominator = records(year, reporting_country)
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
published AS (
  SELECT source, country, year, form, count FROM reference
  WHERE sex IS NULL AND age_group IS NULL AND year BETWEEN $from_year AND $to_year
),
published_totals AS (
  SELECT source, country, year,
    coalesce(max(CASE WHEN form = 'all' THEN count END), sum(CASE WHEN form <> 'all' THEN count END)) AS total
  FROM published GROUP BY source, country, year
),
hotline AS (
  SELECT reporting_country, year, trafficking_form, protected_count(unit_id) AS n
  FROM selected GROUP BY reporting_country, year, trafficking_form
),
years AS (
  SELECT reporting_country, year, protected_count(unit_id) AS denominator
  FROM selected GROUP BY reporting_country, year
)
SELECT
  p.country AS reporting_country, p.year, p.form AS trafficking_form,
  coalesce(h.n, 0) AS n, y.denominator,
  round(100.0 * coalesce(h.n, 0) / y.denominator, 1) AS share_pct,
  p.source, p.count AS reference_count,
  round(100.0 * p.count / nullif(t.total, 0), 1) AS reference_share_pct
FROM published p
JOIN published_totals t ON t.source = p.source AND t.country = p.country AND t.year = p.year
JOIN years y ON y.reporting_country = p.country AND y.year = p.year
LEFT JOIN hotline h ON h.reporting_country = p.country AND h.year = p.year AND h.trafficking_form = p.form
WHERE p.form <> 'all'
ORDER BY p.country, p.year, p.source, p.form
