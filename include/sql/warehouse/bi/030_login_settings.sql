-- Settings of a BI login user (idempotent): membership of crmhub_bi, and read-only transactions by
-- default as a second guard. The user can lift that default (SET default_transaction_read_only = off,
-- SET TRANSACTION READ WRITE; PostgreSQL cannot forbid it per role), which gains it nothing: read-only
-- is enforced by privileges (no write grant anywhere, no TEMPORARY on the database, no CREATE on any
-- schema, no large-object creation: 010_role.sql; tests/warehouse/test_bi_role.py). Then set
-- a password without it passing through logs or shell history:
--   psql "$WAREHOUSE_URL" -v login=metabase -f include/sql/warehouse/bi/030_login_settings.sql
--   psql "$WAREHOUSE_URL" -c '\password metabase'
-- (crmhub bi-role --login metabase --password-env VAR sets it from an environment variable,
-- SCRAM-hashed on the client.)
GRANT crmhub_bi TO :"login";
ALTER ROLE :"login" SET default_transaction_read_only = on;
ALTER ROLE :"login" SET search_path = mart;
