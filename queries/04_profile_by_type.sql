-- Produces: victim profile (gender, adult/minor, foreign national) by typology type or extension category.
-- From: cases (classified store); undetermined records as one row group.
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Victim profile by type
-- chart: profile-bars
-- counts: n, denominator, type_records
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: type_records = all records of the type; denominator = records of the type where the attribute was recorded (not recorded is left out of the share, never counted as "no"); 95% Wilson interval.
-- cells: n = profile(category, attribute, value)
-- cells: denominator = profile(category, attribute)
-- cells: type_records = records(category)
-- sum: profile(category, attribute, value) over value
-- each-within: profile(category, attribute) over attribute = records(category)
WITH selected AS (
  SELECT *, CASE WHEN $unit = 'cases' THEN case_id ELSE record_id END AS unit_id
  FROM cases
  WHERE coalesce(year_from, year) >= $from_year AND coalesce(year_to, year) <= $to_year
    AND ($countries = '' OR array_has(string_to_array($countries, ','), reporting_country))
),
-- grouped on the stored columns, the type's number and the extension
-- category, and named once per group (max(typology_name): a type has one
-- name): a name computed per record, or text grouped where a number does,
-- cost a fifth of the query on 10M records. Each attribute's denominator
-- (its records of the type where it was recorded) is counted with the
-- type's total in one aggregation, FILTERed per attribute. The three
-- attributes' counts are one aggregation of three grouping sets, the
-- attribute named from grouping() after counting: the optimizer
-- (src/sql/rollup.rs) groups the records once on the five columns and
-- takes the three sets from those few hundred groups, so the store is read
-- twice, not four times (on 10M records, counted as victims, 2.2-2.5 s so
-- against 3.3-3.5 s as three aggregations, on a loaded machine; counted as
-- cases, where each case must be counted once, no slower)
labelled AS (
  SELECT unit_id, typology_id AS type_id, typology_name, extension_category,
    gender, majority_status, foreign_national
  FROM selected
),
type_totals AS (
  SELECT type_id, extension_category,
    coalesce(max(typology_name), extension_category, 'not determined') AS category,
    protected_count(unit_id) AS type_records,
    protected_count(unit_id) FILTER (WHERE gender IS NOT NULL) AS gender_denominator,
    protected_count(unit_id) FILTER (WHERE majority_status IS NOT NULL) AS majority_denominator,
    protected_count(unit_id) FILTER (WHERE foreign_national IS NOT NULL) AS citizenship_denominator
  FROM labelled GROUP BY type_id, extension_category
),
counted AS (
  SELECT type_id, extension_category,
    CASE grouping(gender) + 2 * grouping(majority_status) WHEN 2 THEN 'gender' WHEN 1 THEN 'adult/minor'
      ELSE 'citizenship' END AS attribute,
    CASE grouping(gender) + 2 * grouping(majority_status) WHEN 2 THEN gender WHEN 1 THEN majority_status
      ELSE CASE WHEN foreign_national THEN 'foreign national' ELSE 'national' END END AS value,
    protected_count(unit_id) AS n
  FROM labelled
  GROUP BY GROUPING SETS ((type_id, extension_category, gender),
    (type_id, extension_category, majority_status), (type_id, extension_category, foreign_national))
  HAVING (grouping(gender) = 0 AND gender IS NOT NULL)
    OR (grouping(majority_status) = 0 AND majority_status IS NOT NULL)
    OR (grouping(foreign_national) = 0 AND foreign_national IS NOT NULL)
),
counts AS (
  SELECT c.type_id, t.category, t.type_records, c.attribute, c.value, c.n,
    CASE c.attribute WHEN 'gender' THEN t.gender_denominator
      WHEN 'adult/minor' THEN t.majority_denominator
      ELSE t.citizenship_denominator END AS denominator
  FROM counted c JOIN type_totals t
    ON (c.type_id IS NOT DISTINCT FROM t.type_id)
    AND (c.extension_category IS NOT DISTINCT FROM t.extension_category)
)
SELECT
  type_id, category, type_records, attribute, value, n, denominator,
  round(100.0 * n / denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(n, denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(n, denominator), 1) AS ci_high_pct
FROM counts
ORDER BY type_id NULLS LAST, category, attribute, value
