from __future__ import annotations

import pandas as pd
import pytest

from crmhub.errors import SourceDataError
from crmhub.model import INTERACTION_COLUMNS, XREF_COLUMNS, conform
from crmhub.reconcile import attach_interactions, reconcile


def test_xref_maps_every_source_record_once(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl"),
        contact("hootsuite", "t1", email="jan@example.nl"),
        contact("hubspot", "h2", email="piet@example.nl"),
    )
    result = reconcile(frame, default_rules)
    xref = result.xref
    assert list(xref.columns) == XREF_COLUMNS
    assert len(xref) == 3 and not xref.duplicated(["source", "source_id"]).any()
    by_id = xref.set_index("source_id")
    assert by_id.loc["h1", "golden_id"] == by_id.loc["t1", "golden_id"] != by_id.loc["h2", "golden_id"]
    assert by_id.loc["h2", "match_rule"] == "singleton" and by_id.loc["h1", "match_rule"] == "email"
    assert not xref["match_key"].fillna("").str.contains("@").any()


def test_stats_count_records_links_and_rules(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", email="jan@example.nl", social_network="twitter", social_handle="jan"),
        contact("hootsuite", "t1", email="jan@example.nl"),
        contact("hootsuite", "t2", social_network="twitter", social_handle="@jan"),
        contact("hubspot", "h2", email="info@example.nl"),
        contact("hootsuite", "t3", email="info@example.nl"),
    )
    stats = reconcile(frame, default_rules).stats
    assert (stats["source_records"], stats["golden"], stats["linked_pairs"]) == (5, 3, 2)
    assert stats["links_by_rule"] == {"email": 1, "social": 1}
    assert stats["keys_blocklisted"]["email"] == 1
    assert stats["matched_records"] == 3


def test_duplicate_source_record_keeps_newest_version(contacts, contact, default_rules) -> None:
    frame = contacts(
        contact("hubspot", "h1", "2024-01-01", company="Oud"),
        contact("hubspot", "h1", "2024-02-01", company="Nieuw"),
    )
    result = reconcile(frame, default_rules)
    assert result.golden["company"].tolist() == ["Nieuw"]
    assert result.stats["duplicate_records_dropped"] == 1


def test_record_without_business_time_fails_naming_row_and_field(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hubspot", "h1"))
    frame.loc[0, "source_updated_at"] = pd.NaT
    with pytest.raises(SourceDataError, match="row 0.*source_updated_at"):
        reconcile(frame, default_rules)


def test_empty_input_gives_empty_results(contacts, default_rules) -> None:
    result = reconcile(contacts(), default_rules)
    assert result.golden.empty and result.xref.empty and result.stats["golden"] == 0


def _interactions(*rows: dict) -> pd.DataFrame:
    base = {"occurred_at": pd.Timestamp("2024-01-01", tz="UTC"), "channel": "twitter"}
    return conform(pd.DataFrame([{**base, **r} for r in rows]), INTERACTION_COLUMNS)


def test_attach_interactions_looks_up_golden_id_by_source_contact(contacts, contact, default_rules) -> None:
    result = reconcile(
        contacts(contact("hubspot", "h1", email="jan@example.nl"), contact("hootsuite", "t1", email="jan@example.nl")),
        default_rules,
    )
    gid = result.golden["golden_id"].item()
    interactions = _interactions(
        {"source": "hootsuite", "source_id": "m1", "contact_source_id": "t1"},
        {"source": "hubspot", "source_id": "n1", "contact_source_id": "h1"},
        {"source": "hubspot", "source_id": "n2", "contact_source_id": "t1"},  # t1 is a hootsuite id
        {"source": "hootsuite", "source_id": "m2", "contact_source_id": None},
    )
    attributed, unattributed = attach_interactions(interactions, result.xref)
    assert attributed["source_id"].tolist() == ["m1", "n1"]
    assert set(attributed["golden_id"]) == {gid}
    assert list(attributed.columns) == [*INTERACTION_COLUMNS, "golden_id"]
    assert dict(zip(unattributed["source_id"], unattributed["reason"], strict=True)) == {
        "n2": "unknown_contact",
        "m2": "no_contact",
    }
    assert len(attributed) + len(unattributed) == len(interactions)


def test_reconcile_handles_100k_contacts_quickly(default_rules) -> None:
    import time

    n = 100_000
    ids = pd.Series(range(n)).astype(str)
    frame = pd.DataFrame(
        {
            "source": ["hubspot", "hootsuite"] * (n // 2),
            "source_id": ids,
            "source_updated_at": pd.Timestamp("2024-01-01", tz="UTC"),
            "email": ("user" + (pd.Series(range(n)) // 2).astype(str) + "@example.nl").tolist(),
            "phone": ("06" + (pd.Series(range(n)) + 10_000_000).astype(str)).tolist(),
            "postcode": "1234ab",
            "address_line": "Kerkstraat 12a",
        }
    )
    start = time.perf_counter()
    result = reconcile(frame, default_rules)
    elapsed = time.perf_counter() - start
    assert result.stats["golden"] == n // 2
    assert elapsed < 60, f"reconcile of {n} contacts took {elapsed:.1f}s"
