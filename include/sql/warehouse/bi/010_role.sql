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
    -- Issue 12: nobody creates temporary tables, sequences or pg_temp functions in the warehouse
    -- unless granted TEMPORARY: PUBLIC had it by default. The user applying this file (the owner,
    -- which also loads: land_raw stages into a TEMP table) keeps it by an explicit grant; grant it to
    -- any other loader role the same way. crmhub_bi gets CONNECT on this database and nothing more.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM crmhub_bi', current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO crmhub_bi', current_database());
    -- Large objects need no grant to be created: a BI login that lifts read-only could write with
    -- them. Only a superuser may revoke these functions; anyone else is told to have it done.
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_from_bytea(oid, bytea),
            lo_import(text), lo_import(text, oid) FROM PUBLIC;
    ELSE
        RAISE WARNING 'crmhub_bi: run bi/010_role.sql once as a superuser to revoke large-object creation';
    END IF;
END
$$;
-- Nobody creates objects in schema public (PostgreSQL 15+ default; older versions granted it).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
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
