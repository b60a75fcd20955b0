#!/usr/bin/env bash
# The whole test suite (lint, unit, warehouse on DuckDB and PostgreSQL, Airflow end to end).
# PostgreSQL tests use CRMHUB_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
# Three workers by file (CRMHUB_TEST_WORKERS; 0 runs in one process): most tests wait on sockets, sleeps
# and PostgreSQL rather than the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/install_test_deps.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "not benchmark" -n "${CRMHUB_TEST_WORKERS:-3}" --dist loadfile "$@"
