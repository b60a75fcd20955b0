INSERT INTO audit.quality_results (
    run_id, stage, suite, expectation, column_name, severity, success, observed_value,
    unexpected_count, element_count, validated_at
)
SELECT run_id, stage, suite, expectation, column_name, severity, success, observed_value,
       unexpected_count, element_count, validated_at
FROM staging.quality_results;
