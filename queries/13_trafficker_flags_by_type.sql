-- Produces: what the case records of its perpetrators as one value per record, by typology type or extension category: how many perpetrators, whether money was paid for the victim, whether there was a transaction (the victim sold or bought), and whether they controlled, abused or kidnapped the victim.
-- From: cases (classified store): perpetrator_count, perpetrator_money_paid, perpetrator_transaction, perpetrator_control_abuse.
-- Parameters: $from_year, $to_year, $countries, $unit.
-- Unit: $unit (victims = records; cases = distinct case ids).
-- title: Perpetrators of a case by type
-- counts: n, denominator
-- derived: share_pct, ci_low_pct, ci_high_pct from n, denominator
-- note: denominator = records of the type where the attribute was recorded (not recorded is left out of the share, never counted as "no"); 95% Wilson interval.
-- cells: n = case_perpetrators(category, attribute, value)
-- cells: denominator = case_perpetrators(category, attribute)
-- sum: case_perpetrators(category, attribute, value) over value
-- each-within: case_perpetrators(category, attribute) over attribute = records(category)
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
  SELECT unit_id, typology_id AS type_id, typology_name, extension_category, perpetrator_count,
    CASE WHEN perpetrator_count >= 3 THEN 3 ELSE perpetrator_count END AS how_many,
    perpetrator_money_paid AS money_paid,
    perpetrator_transaction AS transaction,
    perpetrator_control_abuse AS control_abuse
  FROM selected
),
-- the counts and their denominators (the grouping set without type_id and
-- value) in one aggregation per attribute: no attribute name among the
-- grouping keys
counted AS (
  SELECT type_id, coalesce(max(typology_name), extension_category, 'not determined') AS category,
    'number of perpetrators' AS attribute,
    CASE how_many WHEN 1 THEN 'one' WHEN 2 THEN 'two' WHEN 3 THEN 'three or more' END AS value,
    protected_count(unit_id) AS n, grouping(how_many) AS is_denominator
  -- the stored count, not how_many (the same records): filtered before the
  -- CASE is computed, not through it
  FROM labelled WHERE perpetrator_count >= 1
  GROUP BY GROUPING SETS ((type_id, extension_category, how_many), (type_id, extension_category))
  UNION ALL
  SELECT type_id, coalesce(max(typology_name), extension_category, 'not determined'), 'money paid',
    CASE WHEN money_paid THEN 'yes' WHEN NOT money_paid THEN 'no' END,
    protected_count(unit_id), grouping(money_paid)
  FROM labelled WHERE money_paid IS NOT NULL
  GROUP BY GROUPING SETS ((type_id, extension_category, money_paid), (type_id, extension_category))
  UNION ALL
  SELECT type_id, coalesce(max(typology_name), extension_category, 'not determined'), 'transaction',
    CASE WHEN transaction THEN 'yes' WHEN NOT transaction THEN 'no' END,
    protected_count(unit_id), grouping(transaction)
  FROM labelled WHERE transaction IS NOT NULL
  GROUP BY GROUPING SETS ((type_id, extension_category, transaction), (type_id, extension_category))
  UNION ALL
  SELECT type_id, coalesce(max(typology_name), extension_category, 'not determined'), 'control, abuse or kidnap',
    CASE WHEN control_abuse THEN 'yes' WHEN NOT control_abuse THEN 'no' END,
    protected_count(unit_id), grouping(control_abuse)
  FROM labelled WHERE control_abuse IS NOT NULL
  GROUP BY GROUPING SETS ((type_id, extension_category, control_abuse), (type_id, extension_category))
),
counts AS (
  SELECT type_id, category, attribute, value, n, is_denominator,
    max(CASE WHEN is_denominator = 1 THEN n END) OVER (PARTITION BY category, attribute) AS denominator
  FROM counted
)
SELECT
  c.type_id, c.category, c.attribute, c.value, c.n, c.denominator,
  round(100.0 * c.n / c.denominator, 1) AS share_pct,
  round(100.0 * wilson_lo(c.n, c.denominator), 1) AS ci_low_pct,
  round(100.0 * wilson_hi(c.n, c.denominator), 1) AS ci_high_pct
FROM counts c WHERE c.is_denominator = 0
ORDER BY c.type_id NULLS LAST, c.category, c.attribute, c.value
