"""``python -m crmhub writeback --dry-run``: prints and stores what would be written, needs no Connection."""

from __future__ import annotations

from crmhub.cli import main
from crmhub.warehouse import Warehouse

from .conftest import Hub


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
