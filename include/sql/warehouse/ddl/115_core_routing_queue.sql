-- Routing (issue 14, include/config/routing.yaml): the department (service, sales, marketing) that
-- follows up each kept inbound social message of a known person, with the rule that decided it, the
-- owner (the deal owner for open-deal rules), the priority and the SLA. A message is routed once, when
-- first loaded (insert only: a rerun or retry never routes it again). Whether it was answered is
-- read from the brand's replies in mart.routing_queue.
CREATE TABLE IF NOT EXISTS core.routing_queue (
    source TEXT NOT NULL,
    source_id TEXT NOT NULL,
    golden_id TEXT,
    occurred_at TIMESTAMPTZ NOT NULL,
    channel TEXT,
    intent TEXT,
    department TEXT NOT NULL,
    rule TEXT NOT NULL,
    owner TEXT,
    priority TEXT NOT NULL,
    sla_hours DOUBLE PRECISION,
    routed_at TIMESTAMPTZ NOT NULL,
    loaded_run_id TEXT NOT NULL,
    loaded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, source_id)
);
CREATE INDEX IF NOT EXISTS routing_queue_department_idx ON core.routing_queue (department);
CREATE TABLE IF NOT EXISTS staging.routing_queue (
    source TEXT,
    source_id TEXT,
    golden_id TEXT,
    occurred_at TIMESTAMPTZ,
    channel TEXT,
    intent TEXT,
    department TEXT,
    rule TEXT,
    owner TEXT,
    priority TEXT,
    sla_hours DOUBLE PRECISION
);
