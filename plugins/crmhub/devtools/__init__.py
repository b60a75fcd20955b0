"""Developer tooling: run the DAGs locally through Airflow against the sandbox (demo and tests)."""
