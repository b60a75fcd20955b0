#!/usr/bin/env bash
# The whole test suite (lint, unit, warehouse on DuckDB and PostgreSQL, Airflow end to end).
# PostgreSQL tests use CRMHUB_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
./scripts/install_test_deps.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "not benchmark" "$@"
