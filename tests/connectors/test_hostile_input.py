"""Hostile input through a connector into a real DuckDB warehouse (issue 12, "Nothing stops the hub").

One bad record, byte or page must not lose the pull: an unreadable record is quarantined naming
record and field (with its raw text), the rest of its page and pull lands; a page that cannot be
parsed is fetched again; a page that stays broken (or a 401 a new token does not cure) fails the task
naming source, endpoint and page, after the pages fetched before it have landed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from crmhub.connectors.base import Window
from crmhub.connectors.credentials import Credentials
from crmhub.connectors.dynamics import DynamicsConnector
from crmhub.connectors.http import RetryPolicy
from crmhub.connectors.hubspot import HubSpotConnector
from crmhub.errors import SourceDataError
from crmhub.stages.ingest import ingest
from crmhub.warehouse.api import Warehouse

from .hostile import Answer, HostileServer, html_200, json_answer, truncated

FULL = Window(None, datetime(2026, 11, 1, tzinfo=UTC))
ENDPOINT = "GET /crm/v3/objects/contacts"
SECRET_NAME = "Jansen-Geheim"  # a value that must never reach a log line


def contact(number: int, firstname: str = "Anna") -> dict:
    return {
        "id": str(number),
        "properties": {"firstname": firstname, "lastname": SECRET_NAME, "email": f"p{number}@example.org"},
        "createdAt": "2026-09-01T10:00:00Z",
        "updatedAt": f"2026-10-{number % 28 + 1:02d}T10:00:00Z",
        "archived": False,
    }


def hubspot_page(records: list, number: int, last: int, **replace: bytes) -> Answer:
    paging = {} if number == last else {"paging": {"next": {"after": str(number + 1)}}}
    return json_answer({"results": records, **paging}, replace={f"@{k}@": v for k, v in replace.items()})


def good_pages(last: int = 3) -> dict[int, list[Answer]]:
    """Three pages of three contacts: ids 11-13, 21-23, 31-33."""
    return {n: [hubspot_page([contact(n * 10 + i) for i in (1, 2, 3)], n, last)] for n in range(1, last + 1)}


def all_ids(last: int = 3) -> set[str]:
    return {str(n * 10 + i) for n in range(1, last + 1) for i in (1, 2, 3)}


@pytest.fixture
def warehouse(tmp_path) -> Iterator[Warehouse]:
    with Warehouse.from_url(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        wh.migrate()
        yield wh


def hubspot(server: HostileServer) -> HubSpotConnector:
    made = HubSpotConnector.connect("hubspot", requests.Session(), server.url, Credentials(password="tok"), {})
    assert isinstance(made, HubSpotConnector)
    made.http.policy = RetryPolicy(base_backoff=0.01)
    return made


def landed(warehouse: Warehouse, source: str = "hubspot") -> set[str]:
    return set(warehouse.query(f"SELECT source_id FROM raw.payloads WHERE source = '{source}'")["source_id"])


def quarantined(warehouse: Warehouse) -> list[dict]:
    return warehouse.quarantine("open").to_dict("records")


def test_a_record_without_id_is_quarantined_and_the_rest_of_its_page_lands(warehouse, caplog):
    pages = good_pages()
    nameless = {k: v for k, v in contact(22).items() if k != "id"}
    pages[2] = [hubspot_page([contact(21), nameless, contact(23)], 2, 3)]
    with HostileServer(pages) as server:
        stats = ingest(hubspot(server), "contacts", FULL, warehouse, "run-1")
    assert landed(warehouse) == all_ids() - {"22"} and stats.quarantined == 1
    (row,) = quarantined(warehouse)
    assert row["source"] == "hubspot" and row["source_id"] is None and row["stage"] == "ingest"
    assert (
        row["reason"]
        == "hubspot: /crm/v3/objects/contacts page 2: a record without id: field 'id': record without 'id'"
    )
    assert json.loads(row["payload"]) == nameless  # nothing of it is lost
    assert SECRET_NAME not in caplog.text


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'"Jan\xff\xfeJansen"', "holds a byte that is not UTF-8 (0xFF)"),
        (b'"Jan\\ud800Jansen"', "holds the lone surrogate \\ud800"),
    ],
    ids=["invalid-utf8-bytes", "lone-surrogate-escape"],
)
def test_text_that_is_not_unicode_quarantines_only_its_record_naming_the_field(warehouse, caplog, raw, says):
    caplog.set_level(logging.INFO)
    pages = good_pages()
    pages[1] = [hubspot_page([contact(11), contact(12, firstname="@BAD@"), contact(13)], 1, 3, BAD=raw)]
    with HostileServer(pages) as server:
        stats = ingest(hubspot(server), "contacts", FULL, warehouse, "run-1")
    assert landed(warehouse) == all_ids() - {"12"} and stats.quarantined == 1
    (row,) = quarantined(warehouse)
    assert row["source_id"] == "12" and row["expectation"] == "readable:properties.firstname"
    assert row["reason"].startswith("hubspot: /crm/v3/objects/contacts page 1: contacts record 12: ")
    assert "field 'properties.firstname'" in row["reason"] and says in row["reason"]
    stored = json.loads(row["payload"])  # ASCII JSON: the bad text survives as \udcNN / \ud800
    assert stored["id"] == "12" and '"firstname": "Jan\\ud' in row["payload"]
    assert "record 12" in caplog.text and SECRET_NAME not in caplog.text and "Jan" not in caplog.text


@pytest.mark.parametrize("broken", [html_200, lambda: truncated(good_pages()[2][0])], ids=["html-200", "truncated"])
def test_a_page_that_cannot_be_parsed_is_fetched_again(warehouse, broken):
    pages = good_pages()
    pages[2] = [broken(), *pages[2]]
    with HostileServer(pages) as server:
        stats = ingest(hubspot(server), "contacts", FULL, warehouse, "run-1")
        assert server.hits[2] == 2
    assert landed(warehouse) == all_ids() and stats.retries == 1 and stats.quarantined == 0


@pytest.mark.parametrize(
    ("broken", "says"),
    [(html_200, "expected JSON, got text/html"), (lambda: truncated(good_pages()[2][0]), "malformed JSON")],
    ids=["html-200", "truncated"],
)
def test_a_page_that_stays_broken_fails_naming_it_after_landing_the_pages_before(warehouse, broken, says):
    pages = good_pages()
    pages[2] = [broken()]
    with HostileServer(pages) as server:
        with pytest.raises(SourceDataError, match=f"^hubspot: {ENDPOINT} page 2: {says}"):
            ingest(hubspot(server), "contacts", FULL, warehouse, "run-1")
        assert server.hits[2] == RetryPolicy().unparseable_attempts and server.hits[3] == 0
    assert landed(warehouse) == {"11", "12", "13"}  # page 1 is not lost
    with HostileServer(good_pages()) as server:  # the next run pulls the rest; page 1 lands no second time
        again = ingest(hubspot(server), "contacts", FULL, warehouse, "run-2")
    assert again.landed == 6 and landed(warehouse) == all_ids()


def test_a_401_mid_pull_with_a_bearer_token_fails_naming_the_page_after_landing_the_pages_before(warehouse):
    pages = good_pages()
    pages[3] = [json_answer({"message": "expired", "category": "INVALID_AUTHENTICATION"}, status=401)]
    with (
        HostileServer(pages) as server,
        pytest.raises(SourceDataError, match=f"^hubspot: {ENDPOINT} page 3: HTTP 401"),
    ):
        ingest(hubspot(server), "contacts", FULL, warehouse, "run-1")
    assert landed(warehouse) == all_ids() - {"31", "32", "33"}


# -- another vendor: Dynamics 365 (OAuth2; absolute @odata.nextLink paging) -------------------------


def dynamics_contact(number: int, firstname: str = "Anna") -> dict:
    return {
        "contactid": f"00000000-0000-0000-0000-{number:012d}",
        "firstname": firstname,
        "lastname": SECRET_NAME,
        "modifiedon": "2026-10-01T10:00:00Z",
        "statecode": 0,
    }


def test_dynamics_isolates_bad_records_and_renews_its_token_on_a_401_mid_pull(warehouse, caplog):
    with HostileServer(page_of=lambda q: int((q.get("$skiptoken") or ["1"])[0])) as server:

        def page(records: list, number: int, **replace: bytes) -> Answer:
            link = {} if number == 2 else {"@odata.nextLink": f"{server.url}/api/data/v9.2/contacts?$skiptoken=2"}
            return json_answer({"value": records, **link}, replace={f"@{k}@": v for k, v in replace.items()})

        nameless = {k: v for k, v in dynamics_contact(2).items() if k != "contactid"}
        server.pages = {
            1: [page([dynamics_contact(1), nameless, dynamics_contact(3, firstname="@BAD@")], 1, BAD=b'"A\xc3"')],
            2: [
                json_answer({"error": {"code": "0x80072560", "message": "token expired"}}, status=401),
                page([dynamics_contact(4), dynamics_contact(5)], 2),
            ],
        }
        credentials = Credentials(login="app", password="secret", extra={"token_url": f"{server.url}/token"})
        connector = DynamicsConnector.connect("dynamics", requests.Session(), server.url, credentials, {})
        stats = ingest(connector, "contacts", FULL, warehouse, "run-1")
        assert server.token_requests == 2  # the 401 on page 2 was cured by one new token
    ids = {dynamics_contact(n)["contactid"] for n in (1, 4, 5)}
    assert landed(warehouse, "dynamics") == ids and stats.quarantined == 2
    reasons = sorted(r["reason"] for r in quarantined(warehouse))
    assert reasons[0].startswith("dynamics: /api/data/v9.2/contacts page 1: a record without id: field 'contactid'")
    assert reasons[1].startswith(
        f"dynamics: /api/data/v9.2/contacts page 1: contacts record {dynamics_contact(3)['contactid']}: "
        "field 'firstname': holds a byte that is not UTF-8 (0xC3)"
    )
    assert SECRET_NAME not in caplog.text
