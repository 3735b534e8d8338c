-- Produces: citizenship of victims for each country of exploitation.
-- From: cases (classified store); records with a country of exploitation.
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Citizenship of victims by country of exploitation
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: denominator = records of the country of exploitation with citizenship recorded; 95% Wilson interval.
-- cells: n = citizenship(exploitation_country, citizenship)
-- cells: denominator = citizenship(exploitation_country)
-- sum: citizenship(exploitation_country, citizenship) over citizenship
-- each-within: citizenship(exploitation_country) = records(exploitation_country)
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
recorded AS (SELECT * FROM selected WHERE exploitation_country IS NOT NULL AND citizenship IS NOT NULL),
-- the counts and each country's denominator in one aggregation (one read of the store, not
-- two): the denominators are the grouping set of the country alone
counted AS (
  SELECT exploitation_country, citizenship, protected_count(unit_id) AS n, published_count(unit_id) AS ranked_by,
    grouping(citizenship) AS is_denominator
  FROM recorded GROUP BY GROUPING SETS ((exploitation_country, citizenship), (exploitation_country))
),
counts AS (
  SELECT exploitation_country, citizenship, n, ranked_by, is_denominator,
    max(CASE WHEN is_denominator = 1 THEN n END) OVER (PARTITION BY exploitation_country) AS denominator
  FROM counted
)
SELECT
  c.exploitation_country, c.citizenship, c.n, c.denominator,
  round(100.0 * c.n / c.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, c.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, c.denominator), 1) AS ci_high_pct
FROM counts c WHERE c.is_denominator = 0
ORDER BY c.exploitation_country, c.ranked_by DESC, c.citizenship
