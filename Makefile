.PHONY: demo test test-fast lint format ui
demo:  ## run the hub end to end against the sandbox into DuckDB
	./scripts/demo.sh
test:  ## the whole test suite, as CI runs it
	./scripts/test.sh
test-fast:  ## the fast lane: unit and contract tests, no Airflow runs (a few minutes)
	./scripts/test_fast.sh
lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
ui:  ## Airflow UI on http://127.0.0.1:8080 over the demo's metadata DB (this machine only; HOST=0.0.0.0 shares it)
	.venv/bin/python -m crmhub ui --host $(or $(HOST),127.0.0.1)
