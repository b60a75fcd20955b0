-- PostgreSQL storage of core.interactions: pages keep 10% free, so an interaction edited in its
-- source (new text, a late channel) is rewritten on its own page as a HOT update, without new
-- index entries. That halves what updating 1% of 5M interactions costs (BENCHMARKS.md, warehouse
-- loads). It applies to pages written from now on; `VACUUM FULL core.interactions` rewrites the rest.
-- Set only when missing: every task migrates, and an ALTER would rewrite the catalog row each time.
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = 'core.interactions'::regclass
                   AND reloptions @> ARRAY['fillfactor=90'])
    THEN ALTER TABLE core.interactions SET (fillfactor = 90); END IF; END $$;
