-- Create a login user for one BI tool or analyst, a member of crmhub_bi and nothing else (run once
-- per user; crmhub bi-role --login NAME runs it only when the user does not exist yet):
--   psql "$WAREHOUSE_URL" -v login=metabase -f include/sql/warehouse/bi/020_login_create.sql
CREATE ROLE :"login" LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION IN ROLE crmhub_bi;
