-- Produces: the trafficker profile by typology type or extension category: the perpetrators' roles, genders, age groups, citizenship (UN M49 region) and relation to the victim.
-- From: cases (classified store), the multi-valued perpetrator columns unnested (perpetrator_regions is derived from perpetrator_citizenships).
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Trafficker profile by type
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: A case can have several perpetrators, so shares within a type and attribute can sum to more than 100%. Denominator = records of the type where the attribute of the perpetrators was recorded; 95% Wilson interval.
-- cells: n = perpetrators(category, attribute, value)
-- cells: denominator = perpetrators(category, attribute)
-- cover: perpetrators(category, attribute, value) over value
-- each-within: perpetrators(category, attribute) over attribute = records(category)
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
-- grouped on the stored columns and named after the grouping, so that each
-- name is computed once per group, not once per record; on the type's
-- number, not its name (a type has one name, so max(typology_name) is it):
-- integers group faster than text. Only per_category names; the counts
-- join it on the type's number and extension category, so the unnested
-- rows carry no name, and its denominators count rows FILTERed on the
-- attribute, which needs no unit id (on 10M records 3.26-3.40 s before,
-- 2.83-2.99 s so; DuckDB 2.93-3.04 s and 2.80-2.87 s)
labelled AS (
  SELECT unit_id, typology_id AS type_id, typology_name, extension_category,
    perpetrator_roles, perpetrator_genders, perpetrator_age_groups, perpetrator_regions, perpetrator_relations
  FROM selected
),
-- the counts and their denominators, one aggregation per attribute: no
-- attribute name among the grouping keys (the regions named before they
-- are grouped, so codes of one region name are counted together)
counts AS (
  SELECT type_id, extension_category, 'role' AS attribute, value, protected_count(unit_id) AS n
  FROM (SELECT type_id, extension_category, unnest(perpetrator_roles) AS value, unit_id FROM labelled WHERE perpetrator_roles IS NOT NULL)
  GROUP BY type_id, extension_category, value
  UNION ALL
  SELECT type_id, extension_category, 'gender', value, protected_count(unit_id)
  FROM (SELECT type_id, extension_category, unnest(perpetrator_genders) AS value, unit_id FROM labelled WHERE perpetrator_genders IS NOT NULL)
  GROUP BY type_id, extension_category, value
  UNION ALL
  SELECT type_id, extension_category, 'age group', value, protected_count(unit_id)
  FROM (SELECT type_id, extension_category, unnest(perpetrator_age_groups) AS value, unit_id FROM labelled WHERE perpetrator_age_groups IS NOT NULL)
  GROUP BY type_id, extension_category, value
  UNION ALL
  SELECT type_id, extension_category, 'citizenship (region)', value, protected_count(unit_id)
  FROM (SELECT type_id, extension_category, CASE value WHEN '002' THEN 'Africa' WHEN '019' THEN 'Americas' WHEN '142' THEN 'Asia'
      WHEN '150' THEN 'Europe' WHEN '009' THEN 'Oceania' ELSE value END AS value, unit_id
        FROM (SELECT type_id, extension_category, unnest(perpetrator_regions) AS value, unit_id FROM labelled WHERE perpetrator_regions IS NOT NULL))
  GROUP BY type_id, extension_category, value
  UNION ALL
  SELECT type_id, extension_category, 'relation to victim', value, protected_count(unit_id)
  FROM (SELECT type_id, extension_category, unnest(perpetrator_relations) AS value, unit_id FROM labelled WHERE perpetrator_relations IS NOT NULL)
  GROUP BY type_id, extension_category, value
),
-- the denominators in one aggregation: each of the five as the records
-- where the attribute was recorded, then one row per attribute (five
-- aggregations, one per attribute, read the store five times; on 10M
-- records this query took 3.75-3.95 s so, 3.40 s then)
per_category AS (
  SELECT type_id, extension_category, coalesce(max(typology_name), extension_category, 'not determined') AS category,
    protected_count(unit_id) FILTER (WHERE perpetrator_roles IS NOT NULL) AS role,
    protected_count(unit_id) FILTER (WHERE perpetrator_genders IS NOT NULL) AS gender,
    protected_count(unit_id) FILTER (WHERE perpetrator_age_groups IS NOT NULL) AS age_group,
    protected_count(unit_id) FILTER (WHERE perpetrator_regions IS NOT NULL) AS region,
    protected_count(unit_id) FILTER (WHERE perpetrator_relations IS NOT NULL) AS relation
  FROM labelled GROUP BY type_id, extension_category
),
denominators AS (
  SELECT p.type_id, p.extension_category, p.category, a.attribute,
    CASE a.attribute WHEN 'role' THEN p.role WHEN 'gender' THEN p.gender WHEN 'age group' THEN p.age_group
      WHEN 'citizenship (region)' THEN p.region ELSE p.relation END AS denominator
  FROM per_category p
  CROSS JOIN (VALUES ('role'), ('gender'), ('age group'), ('citizenship (region)'), ('relation to victim')) AS a(attribute)
)
SELECT
  c.type_id, d.category, c.attribute, c.value, c.n, d.denominator,
  round(100.0 * c.n / d.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, d.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, d.denominator), 1) AS ci_high_pct
FROM counts c JOIN denominators d
  ON (d.type_id IS NOT DISTINCT FROM c.type_id) AND (d.extension_category IS NOT DISTINCT FROM c.extension_category)
  AND d.attribute = c.attribute
ORDER BY c.type_id NULLS LAST, d.category, c.attribute, c.value
