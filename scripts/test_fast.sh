#!/usr/bin/env bash
# The fast lane: lint, unit and contract tests (DuckDB and PostgreSQL), no Airflow runs, no benchmarks.
# Tests that start Airflow are marked `airflow` by tests/conftest.py from the fixtures they use.
# The whole suite (what CI runs) stays ./scripts/test.sh. Four workers by default (CRMHUB_TEST_WORKERS): most
# tests wait on sockets, sleeps and PostgreSQL rather than the CPU, so two cores keep four busy.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "not benchmark and not airflow" -n "${CRMHUB_TEST_WORKERS:-4}" --dist loadfile "$@"
