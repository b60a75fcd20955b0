"""``python -m crmhub writeback``: the dry run prints and stores what would be written and needs no
Connection; a real run reaches the CRMs through the Connections ingest uses, once per message."""

from __future__ import annotations

import os
import subprocess
import sys

from crmhub.cli import main
from crmhub.warehouse import Warehouse
from crmhub_dev.localrun import sandbox_connections

from .conftest import Hub, key_for


def test_the_cli_dry_run_prints_and_stores_what_it_would_write_and_calls_no_crm(sandbox, tmp_path, capsys):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    hub = Hub(sandbox, url)
    contact = hub.contacts()[0]["id"]
    hub.route(contact, handle=None, followers=None)
    assert main(["writeback", "--dry-run", "--warehouse-url", url]) == 0
    out = capsys.readouterr().out
    assert f"dry run: hubspot task for record {contact}: would write a task (service, complaint, high)" in out
    assert "crmhub writeback (dry run): created=0" in out and "dry_run=1" in out
    assert hub.tasks() == []
    with Warehouse.from_url(url) as wh:
        assert list(wh.query("SELECT status FROM audit.writeback_attempts")["status"]) == ["dry_run"]


def test_the_cli_writes_a_salesforce_case_once_and_a_second_run_creates_none(crm_sandbox, tmp_path):
    url = f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    with Warehouse.from_url(url) as wh:
        wh.migrate()
    hub = Hub(crm_sandbox, url, crm="salesforce")
    contact = next(c for c in crm_sandbox.data.vendors["salesforce"]["contacts"] if not c["IsDeleted"])["Id"]
    message = hub.route(contact, handle=None, followers=None)
    # the Connections as AIRFLOW_CONN_* variables, as a data engineer runs it by hand
    env = {**os.environ, **sandbox_connections(crm_sandbox), "AIRFLOW_HOME": str(tmp_path / "airflow")}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "crmhub", "writeback", "--warehouse-url", url],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr[-2000:]
    assert "crmhub writeback: created=1 " in runs[0].stdout and "crmhub writeback: created=0 " in runs[1].stdout
    key = key_for(message, "case", "salesforce")
    assert [
        c["ContactId"] for c in crm_sandbox.data.vendors["salesforce"]["cases"] if c.get("CrmHub_Key__c") == key
    ] == [contact]
