#!/usr/bin/env bash
# The whole hub end to end on the embedded default: sandbox APIs → Airflow DAG runs → DuckDB warehouse.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m crmhub demo "$@"
