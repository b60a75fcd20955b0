"""The steward app without a browser: who may see what, the pair page's values, decisions with who and
when, defer, undo and the audit (the browser test drives the same app inside a real Airflow API server)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient

from crmhub.model import CONTACT_COLUMNS, REVIEW_COLUMNS, conform
from crmhub.orchestration.steward_app import URL_PREFIX, create_app, is_steward
from crmhub.stages.reconcile_steps import run_folder
from crmhub.warehouse import Warehouse, steward

RUN = "manual__2026-12-01T00:00:00+00:00"
AT = datetime(2026, 12, 1, tzinfo=UTC)
PAIR = {"left_source": "hubspot", "left_source_id": "h1", "right_source": "salesforce", "right_source_id": "0031"}


class User:
    def __init__(self, username: str, role: str | None) -> None:
        self.username, self.role = username, role

    def get_name(self) -> str:
        return self.username

    def get_id(self) -> str:
        return self.username


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    monkeypatch.setenv("CRMHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CRMHUB_STEWARD_USERS", raising=False)
    monkeypatch.delenv("CRMHUB_STEWARD_ROLES", raising=False)
    queue = pd.DataFrame(
        [{**PAIR, "left_golden_id": "G1", "right_golden_id": "G2", "score": 7.5, "reason": "review_band",
          "rule": "fuzzy", "explanation": "last_name=exact(+4.1) email=missing(0)"}],
        columns=REVIEW_COLUMNS,
    )  # fmt: skip
    merge = {"event": "merge", "from_golden_id": "G9", "into_golden_id": "G1", "rule": "email",
             "records": 1, "loser_records": [["hubspot", "h9"]]}  # fmt: skip
    with Warehouse.from_url(url) as wh:
        wh.migrate()
        wh.store_steward_run(RUN, queue, [merge], at=AT)
    contacts = conform(
        pd.DataFrame(
            [
                {"source": "hubspot", "source_id": "h1", "first_name": "Jan", "last_name": "de Vries",
                 "email": "jan@example.nl", "source_updated_at": pd.Timestamp("2025-01-01", tz="UTC")},
                {"source": "salesforce", "source_id": "0031", "first_name": "J.", "last_name": "de Vries",
                 "phone": "+31 6 1234 5678", "source_updated_at": pd.Timestamp("2025-02-01", tz="UTC")},
            ]
        ),
        CONTACT_COLUMNS,
    )  # fmt: skip
    run_folder(tmp_path / "data", RUN).write("contacts", contacts)
    current = {"user": User("anna", "admin")}

    def authenticate() -> User:
        if current["user"] is None:
            raise HTTPException(401, "Not authenticated")
        return current["user"]

    root = FastAPI()
    root.mount(URL_PREFIX, create_app(lambda: url, authenticate=authenticate))
    client = TestClient(root, base_url="http://testserver")
    return client, url, current


def _audit(url: str) -> list[tuple[str, str]]:
    with Warehouse.from_url(url) as wh:
        return list(steward.activity(wh.engine)[["actor", "action"]].itertuples(index=False, name=None))


def test_roles_and_named_stewards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRMHUB_STEWARD_USERS", raising=False)
    monkeypatch.delenv("CRMHUB_STEWARD_ROLES", raising=False)
    assert is_steward(User("a", "admin")) and is_steward(User("o", "OP")) and not is_steward(User("v", "viewer"))
    monkeypatch.setenv("CRMHUB_STEWARD_USERS", "vera")
    assert is_steward(User("vera", "viewer"))
    monkeypatch.setenv("CRMHUB_STEWARD_ROLES", "steward")
    assert not is_steward(User("a", "admin"))

    class FabUser(User):
        roles = [type("Role", (), {"name": "Steward"})()]

    assert is_steward(FabUser("f", None))


def test_unauthenticated_goes_to_login_and_a_viewer_is_refused_and_audited(setup) -> None:
    client, url, current = setup
    current["user"] = None
    response = client.get(f"{URL_PREFIX}/pair", params=PAIR, follow_redirects=False)
    assert response.status_code == 303 and "login" in response.headers["location"]
    current["user"] = User("victor", "viewer")
    response = client.get(f"{URL_PREFIX}/pair", params=PAIR)
    assert response.status_code == 403 and "jan@example.nl" not in response.text
    assert _audit(url) == [("victor", "denied")]


def test_a_steward_sees_both_records_and_links_them(setup) -> None:
    client, url, _ = setup
    queue = client.get(f"{URL_PREFIX}/")
    assert queue.status_code == 200 and "<strong>1</strong> pair(s) to review" in queue.text
    page = client.get(f"{URL_PREFIX}/pair", params=PAIR)
    assert "jan@example.nl" in page.text and "+31 6 1234 5678" in page.text and "last_name=exact" in page.text
    done = client.post(f"{URL_PREFIX}/decide", data={**PAIR, "decision": "link"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith(f"{URL_PREFIX}/pair?")
    with Warehouse.from_url(url) as wh:
        history = steward.decision_history(wh.engine)
    assert list(history[["decision", "decided_by"]].itertuples(index=False, name=None)) == [("link", "anna")]
    assert "anna" in client.get(done.headers["location"]).text
    assert [a for _, a in _audit(url)] == ["view_pair", "link", "view_pair", "view_queue"]


def test_defer_undo_and_a_cross_site_post(setup) -> None:
    client, url, _ = setup
    client.post(f"{URL_PREFIX}/decide", data={**PAIR, "decision": "defer", "note": "ask sales"})
    assert "deferred by anna" in client.get(f"{URL_PREFIX}/").text
    with Warehouse.from_url(url) as wh:
        assert wh.steward_decisions().empty
        merge_id = wh.merge_log().loc[0, "merge_id"]
    refused = client.post(f"{URL_PREFIX}/undo", data={"merge_id": merge_id}, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert client.post(f"{URL_PREFIX}/undo", data={"merge_id": merge_id}).status_code == 200  # redirected to the queue
    with Warehouse.from_url(url) as wh:
        assert bool(wh.merge_log().loc[0, "undone"]) and wh.merge_log().loc[0, "undone_by"] == "anna"
    assert "undo_merge" in client.get(f"{URL_PREFIX}/audit").text


def test_without_the_run_folder_a_side_shows_its_golden_record(setup, tmp_path: Path) -> None:
    client, _, _ = setup
    (run_folder(tmp_path / "data", RUN).path("contacts")).unlink()
    page = client.get(f"{URL_PREFIX}/pair", params=PAIR)
    assert page.status_code == 200 and "jan@example.nl" not in page.text and "not found" in page.text
