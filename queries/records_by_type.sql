-- Records (victims) by typology type, extension category or undetermined,
-- all years, from the classified table `cases`.
-- Unit: victims (one record = one victim in one case). Detected cases, not prevalence.
SELECT
    classification,
    coalesce(CAST(typology_id AS VARCHAR), extension_category, 'undetermined') AS category,
    coalesce(typology_name, extension_category, 'not determined') AS name,
    count(*) AS victims
FROM cases
GROUP BY classification, typology_id, typology_name, extension_category
ORDER BY classification DESC, typology_id NULLS LAST, extension_category
