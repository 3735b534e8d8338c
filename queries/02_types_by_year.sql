-- Produces: the trend table: records by typology type and year, with the change from the previous year;
--   extension categories (forms outside the 25 types) and undetermined records in their own sections.
-- From: cases (classified store).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Records by typology type and year (trend)
-- chart: stacked-types, trend-top-types
-- counts: n, prev_n, denominator
-- derived: change_pct from n, prev_n
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: change_pct is the change from the previous year, shown only where both years are published; share_pct is the share of all records of the year (95% Wilson interval).
-- cells: n = records(year, section, category)
-- cells: prev_n = records(year-1, section, category)
-- cells: denominator = records(year)
-- sum: records(year, section, category) over category
-- sum: records(year, section) over section
-- sum: records(year, section, category) over year = dated(section, category)
-- sum: dated(section, category) over category
-- sum: dated(section, category) over section
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
-- grouped on the stored columns and named after the grouping, so that each
-- name is computed once per group, not once per record; on the type's
-- number, not its name (a type has one name, so max(typology_name) is it):
-- integers group faster than text
counts AS (
  SELECT year,
    CASE classification WHEN 'typology' THEN 1 WHEN 'extension' THEN 2 ELSE 3 END AS section_order,
    typology_id AS type_id,
    coalesce(max(typology_name), extension_category, 'not determined') AS category,
    protected_count(unit_id) AS n
  FROM selected GROUP BY year, classification, typology_id, extension_category
),
years AS (SELECT year, protected_count(unit_id) AS denominator FROM selected GROUP BY year),
-- every category counted in some year, with its counts by year gathered
-- into two lists, so that the grid (every category in every year, 0 where
-- none) reads `counts` once: DataFusion writes a CTE into every place that
-- uses it, and `counts`, read for the categories and again for the grid's
-- counts, was aggregated from the store twice (on 10M records 0.55-0.56 s
-- so, 0.29-0.35 s with the lists; DuckDB 0.30-0.36 s and 0.32-0.38 s).
-- A category has at most one count a year: a type's number or extension
-- category gives its section, so (section, category, year) is one group.
-- The section's name is given after: one name per section_order, so the
-- same categories, with one string fewer to compare
per_category AS (
  SELECT section_order, type_id, category, array_agg(year) AS count_years, array_agg(n) AS year_counts
  FROM counts GROUP BY section_order, type_id, category
),
grid AS (
  SELECT k.section_order,
    CASE k.section_order WHEN 1 THEN 'typology' WHEN 2 THEN 'extension (outside the 25 types)' ELSE 'undetermined' END AS section,
    k.type_id, k.category, y.year,
    coalesce(k.year_counts[CAST(array_position(k.count_years, y.year) AS BIGINT)], 0) AS n, y.denominator
  FROM per_category k CROSS JOIN years y
),
-- the previous year's count only when that year is the row before: a year
-- without records has no row, and the row before it is an earlier year
-- (whose count, taken as the previous year's, made a false change)
with_previous AS (
  SELECT *,
    CASE WHEN lag(year) OVER (PARTITION BY category ORDER BY year) = year - 1
      THEN lag(n) OVER (PARTITION BY category ORDER BY year) END AS prev_n
  FROM grid
)
SELECT
  section, type_id, category, year, n, prev_n,
  CASE WHEN prev_n > 0 THEN round(100.0 * (n - prev_n) / prev_n, 1) END AS change_pct,
  denominator,
  round(100.0 * n / denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(n, denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(n, denominator), 1) AS ci_high_pct
FROM with_previous
ORDER BY section_order, type_id NULLS LAST, category, year
