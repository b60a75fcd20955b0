-- Conflicts belong to a run: a rerun of the run replaces its rows instead of adding more.
DELETE FROM core.golden_conflicts WHERE run_id = :run_id;
