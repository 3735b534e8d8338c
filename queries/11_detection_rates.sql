-- Produces: detected victims (or cases) per 100,000 population, by reporting country and year.
-- From: cases (classified store) and population (the table given with --population: country, year, population, source).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Detected cases per 100,000 population
-- requires: population
-- counts: n
-- derived: rate_per_100k from n
-- note: rate_per_100k = detected cases per 100,000 population: what hotlines detected, not the prevalence of trafficking. Population of the year given, or of the nearest year in the population table (population_year; the earlier year on a tie); no rate where the table has no figure for the country.
-- cells: n = records(year, reporting_country)
-- sum: records(year, reporting_country) over reporting_country
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE year BETWEEN $from_year AND $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
counts AS (SELECT reporting_country, year, protected_count(unit_id) AS n FROM selected GROUP BY reporting_country, year),
nearest AS (
  SELECT c.reporting_country, c.year, p.year AS population_year, p.population, p.source,
    row_number() OVER (PARTITION BY c.reporting_country, c.year ORDER BY abs(p.year - c.year), p.year) AS rank
  FROM counts c JOIN population p ON p.country = c.reporting_country
)
SELECT
  c.reporting_country, c.year, c.n,
  p.population, p.population_year,
  round(100000.0 * c.n / p.population, 1) AS rate_per_100k,
  p.source AS population_source
FROM counts c
LEFT JOIN nearest p ON p.reporting_country = c.reporting_country AND p.year = c.year AND p.rank = 1
ORDER BY c.reporting_country, c.year
