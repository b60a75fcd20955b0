-- Read-only BI access (PostgreSQL): the NOLOGIN group role crmhub_bi may read the mart views and
-- nothing else. BI tools log in as their own login role that is a member of crmhub_bi
-- (020_login_create.sql, 030_login_settings.sql). Run as the warehouse owner after migrating:
--   python -m crmhub bi-role --warehouse-url "$WAREHOUSE_URL" [--login metabase]
-- or with psql:
--   psql "$WAREHOUSE_URL" -f include/sql/warehouse/bi/010_role.sql
-- Every statement is idempotent. The mart views read core with their owner's rights (PostgreSQL
-- views are not security_invoker), so crmhub_bi needs, and gets, no right on core at all.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crmhub_bi') THEN
        CREATE ROLE crmhub_bi NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO crmhub_bi', current_database());
END
$$;
-- Take back anything ever granted outside the marts (a manual GRANT, an older version of this file).
REVOKE ALL ON ALL TABLES IN SCHEMA raw, staging, core, audit, ops FROM crmhub_bi;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA raw, staging, core, audit, ops FROM crmhub_bi;
REVOKE ALL ON SCHEMA raw, staging, core, audit, ops FROM crmhub_bi;
REVOKE ALL ON SCHEMA mart FROM crmhub_bi;
REVOKE ALL ON ALL TABLES IN SCHEMA mart FROM crmhub_bi;
-- Read the marts: usage of the schema and SELECT on every view in it, also on views a later
-- migrate by the same owner adds (default privileges).
GRANT USAGE ON SCHEMA mart TO crmhub_bi;
GRANT SELECT ON ALL TABLES IN SCHEMA mart TO crmhub_bi;
ALTER DEFAULT PRIVILEGES IN SCHEMA mart GRANT SELECT ON TABLES TO crmhub_bi;
