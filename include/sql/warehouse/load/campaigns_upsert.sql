-- Upsert by (source, source_id) keeping the newest business version: a staged row replaces the
-- stored one only if it is newer, or equally new and different (an identical rerun touches nothing;
-- a late-arriving older version changes nothing).
UPDATE core.campaigns
SET name = s.name, channel = s.channel, status = s.status, started_at = s.started_at, ended_at = s.ended_at,
    source_updated_at = s.source_updated_at, is_deleted = s.is_deleted,
    loaded_run_id = :run_id, loaded_at = :loaded_at
FROM staging.campaigns s
WHERE core.campaigns.source = s.source
  AND core.campaigns.source_id = s.source_id
  AND (s.source_updated_at > core.campaigns.source_updated_at
       OR (s.source_updated_at = core.campaigns.source_updated_at
           AND (core.campaigns.name IS DISTINCT FROM s.name
                OR core.campaigns.channel IS DISTINCT FROM s.channel
                OR core.campaigns.status IS DISTINCT FROM s.status
                OR core.campaigns.started_at IS DISTINCT FROM s.started_at
                OR core.campaigns.ended_at IS DISTINCT FROM s.ended_at
                OR core.campaigns.is_deleted IS DISTINCT FROM s.is_deleted)));
INSERT INTO core.campaigns (
    source, source_id, name, channel, status, started_at, ended_at, source_updated_at, is_deleted,
    loaded_run_id, loaded_at
)
SELECT s.source, s.source_id, s.name, s.channel, s.status, s.started_at, s.ended_at, s.source_updated_at,
       s.is_deleted, :run_id, :loaded_at
FROM staging.campaigns s
WHERE NOT EXISTS (SELECT 1 FROM core.campaigns c WHERE c.source = s.source AND c.source_id = s.source_id);
