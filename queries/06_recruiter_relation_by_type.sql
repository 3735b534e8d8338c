-- Produces: recruiter relations by typology type or extension category.
-- From: cases (classified store), the multi-valued column recruiter_relations unnested.
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Recruiter relation by type
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: A record can have several recruiter relations, so shares within a type do not sum to 100%. Denominator = records of the type with recruiter_relations recorded; 95% Wilson interval.
-- cells: n = recruiters(category, recruiter_relation)
-- cells: denominator = recruiters(category)
-- cover: recruiters(category, recruiter_relation) over recruiter_relation
-- each-within: recruiters(category) = records(category)
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
recorded AS (
  SELECT unit_id, typology_id AS type_id, typology_name, extension_category, recruiter_relations AS vals
  FROM selected WHERE recruiter_relations IS NOT NULL
),
-- grouped on the stored columns and named after the grouping, so that each
-- name is computed once per group, not once per record; on the type's
-- number, not its name (a type has one name, so max(typology_name) is it):
-- integers group faster than text. Only the denominators are named; the
-- counts join them on the type's number and extension category, so the
-- unnested rows carry no name (on 10M records, both engines
-- on the benchmark's text, with count: 0.71-0.74 s with the name carried,
-- 0.67-0.69 s so; DuckDB 0.66-0.71 s and 0.63-0.65 s)
denominators AS (
  SELECT type_id, extension_category,
    coalesce(max(typology_name), extension_category, 'not determined') AS category, protected_count(unit_id) AS denominator
  FROM recorded GROUP BY type_id, extension_category
),
long AS (SELECT unit_id, type_id, extension_category, unnest(vals) AS value FROM recorded),
counts AS (
  SELECT type_id, extension_category, value,
    protected_count(unit_id) AS n, published_count(unit_id) AS ranked_by
  FROM long GROUP BY type_id, extension_category, value
)
SELECT
  c.type_id, d.category, c.value AS recruiter_relation, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d
  ON (d.type_id IS NOT DISTINCT FROM c.type_id) AND (d.extension_category IS NOT DISTINCT FROM c.extension_category)
ORDER BY c.type_id NULLS LAST, d.category, c.ranked_by DESC, c.value
