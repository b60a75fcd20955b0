-- Settings of a BI login user (idempotent): membership of crmhub_bi, and read-only transactions by
-- default as a second guard (its privileges already allow nothing but reading the marts). Then set
-- a password without it passing through logs or shell history:
--   psql "$WAREHOUSE_URL" -v login=metabase -f include/sql/warehouse/bi/030_login_settings.sql
--   psql "$WAREHOUSE_URL" -c '\password metabase'
-- (crmhub bi-role --login metabase --password-env VAR sets it from an environment variable,
-- SCRAM-hashed on the client.)
GRANT crmhub_bi TO :"login";
ALTER ROLE :"login" SET default_transaction_read_only = on;
ALTER ROLE :"login" SET search_path = mart;
