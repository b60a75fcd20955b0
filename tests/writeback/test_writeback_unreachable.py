"""A CRM that cannot be reached stops alone (issue 17): the other CRMs' follow-ups are written and
recorded, and the run ends with WritebackIncomplete so Airflow retries it; the retry writes the rest."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from crmhub.config import SourceConfig
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.registry import connector_class
from crmhub.stages.writeback import WritebackIncomplete, run_writeback

from .conftest import SOURCES, Hub, key_for


def test_a_crm_refusing_the_hubs_credentials_stops_alone_and_the_retry_writes_its_followups(crm_sandbox, warehouse_url):
    sf, dyn = Hub(crm_sandbox, warehouse_url, crm="salesforce"), Hub(crm_sandbox, warehouse_url, crm="dynamics")
    sf_contact = next(c for c in crm_sandbox.data.vendors["salesforce"]["contacts"] if not c["IsDeleted"])["Id"]
    dyn_contact = next(c for c in dyn.app.state.records["contacts"] if c["statecode"] == 0)["contactid"]
    sf_message = sf.route(sf_contact, handle=None, followers=None)
    dyn_message = dyn.route(dyn_contact, handle=None, followers=None)
    sources = {"salesforce": SOURCES["salesforce"], "dynamics": SOURCES["dynamics"]}
    secret: dict[str, str] = {"dynamics": "a-revoked-secret"}

    def connect(source: SourceConfig) -> Any:
        if source.name not in secret:
            return sf.connect(source)
        fields = crm_sandbox.airflow_connections()["dynamics"]
        credentials = Credentials(login=fields["login"], password=secret["dynamics"], extra=fields["extra"])
        return connector_class("dynamics").connect(
            "dynamics", requests.Session(), crm_sandbox.url("dynamics"), credentials, dict(source.options)
        )

    def run(run_id: str) -> Any:
        return run_writeback(sf.open, sources, connect, run_id=run_id, echo=lambda _line: None)

    with pytest.raises(WritebackIncomplete, match="unreachable dynamics"):
        run("wb-1")
    assert len([c for c in crm_sandbox.data.vendors["salesforce"]["cases"]
                if c.get("CrmHub_Key__c") == key_for(sf_message, "case", "salesforce")]) == 1  # fmt: skip
    rows = {(a["target_source"], a["status"], a["retryable"]) for a in sf.attempts()}
    assert rows == {("salesforce", "created", False), ("dynamics", "failed", True)}
    secret.clear()  # the admin renewed the secret; Airflow retries the task
    report = run("wb-2")
    assert (report.counts["created"], report.counts["failed"]) == (1, 0)
    assert [r["crmhub_key"] for r in dyn.app.state.records["incidents"] if r.get("crmhub_key")] == [
        key_for(dyn_message, "case", "dynamics")
    ]
