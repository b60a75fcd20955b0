-- Upsert by (source, source_id) keeping the newest business version (see opportunities_upsert.sql).
UPDATE core.cases
SET contact_source_id = s.contact_source_id, subject = s.subject, channel = s.channel, status = s.status,
    priority = s.priority, is_complaint = s.is_complaint, is_closed = s.is_closed, created_at = s.created_at,
    first_response_at = s.first_response_at, closed_at = s.closed_at, source_updated_at = s.source_updated_at,
    is_deleted = s.is_deleted, golden_id = s.golden_id, loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.cases s
WHERE core.cases.source = s.source
  AND core.cases.source_id = s.source_id
  AND (s.source_updated_at > core.cases.source_updated_at
       OR (s.source_updated_at = core.cases.source_updated_at
           AND (core.cases.contact_source_id IS DISTINCT FROM s.contact_source_id
                OR core.cases.subject IS DISTINCT FROM s.subject
                OR core.cases.channel IS DISTINCT FROM s.channel
                OR core.cases.status IS DISTINCT FROM s.status
                OR core.cases.priority IS DISTINCT FROM s.priority
                OR core.cases.is_complaint IS DISTINCT FROM s.is_complaint
                OR core.cases.is_closed IS DISTINCT FROM s.is_closed
                OR core.cases.created_at IS DISTINCT FROM s.created_at
                OR core.cases.first_response_at IS DISTINCT FROM s.first_response_at
                OR core.cases.closed_at IS DISTINCT FROM s.closed_at
                OR core.cases.is_deleted IS DISTINCT FROM s.is_deleted
                OR core.cases.golden_id IS DISTINCT FROM s.golden_id)));
UPDATE core.cases
SET golden_id = s.golden_id, loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.cases s
WHERE core.cases.source = s.source
  AND core.cases.source_id = s.source_id
  AND s.source_updated_at < core.cases.source_updated_at
  AND core.cases.contact_source_id IS NOT DISTINCT FROM s.contact_source_id
  AND core.cases.golden_id IS DISTINCT FROM s.golden_id;
INSERT INTO core.cases (
    source, source_id, contact_source_id, subject, channel, status, priority, is_complaint, is_closed,
    created_at, first_response_at, closed_at, source_updated_at, is_deleted, golden_id, loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.contact_source_id, s.subject, s.channel, s.status, s.priority, s.is_complaint,
       s.is_closed, s.created_at, s.first_response_at, s.closed_at, s.source_updated_at, s.is_deleted,
       s.golden_id, :run_id, :loaded_at
FROM staging.cases s
WHERE NOT EXISTS (SELECT 1 FROM core.cases c WHERE c.source = s.source AND c.source_id = s.source_id);
