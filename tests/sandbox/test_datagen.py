"""The generated data is deterministic and its ground truth accounts for every record exactly once."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from crmhub_dev.sandbox.datagen import generate


def test_same_seed_gives_identical_data_and_other_seed_differs() -> None:
    first, second, other = generate(seed=7, people=80), generate(seed=7, people=80), generate(seed=8, people=80)
    assert first.hubspot_contacts == second.hubspot_contacts
    assert first.hootsuite_messages == second.hootsuite_messages
    assert json.dumps(first.ground_truth, sort_keys=True) == json.dumps(second.ground_truth, sort_keys=True)
    assert first.hubspot_contacts != other.hubspot_contacts


def test_every_hubspot_record_and_message_belongs_to_exactly_one_person_or_broadcast() -> None:
    data = generate()
    truth = data.ground_truth
    owners = Counter(r["source_id"] for p in truth["persons"] for r in p["source_records"] if r["source"] == "hubspot")
    assert sorted(owners) == sorted(c["id"] for c in data.hubspot_contacts)
    assert set(owners.values()) == {1}
    assert set(truth["messages"]) == {m["id"] for m in data.hootsuite_messages}
    person_ids = {p["person_id"] for p in truth["persons"]}
    assert {v for v in truth["messages"].values() if v is not None} <= person_ids
    json.dumps(truth)  # JSON-serialisable


def test_replies_address_the_true_handle_and_broadcasts_carry_a_campaign_tag() -> None:
    data = generate()
    handles = {p["person_id"]: p["handle"] for p in data.ground_truth["persons"]}
    for message in data.hootsuite_messages:
        owner = data.ground_truth["messages"][message["id"]]
        if owner is None:
            assert not message["text"].startswith("@")
            assert message["tags"] and message["tags"][0] in data.ground_truth["campaigns"]
        else:
            match = re.match(r"@(\S+) ", message["text"])
            assert match and match.group(1).lower() == handles[owner]
    broadcasts = sum(v is None for v in data.ground_truth["messages"].values())
    assert 0.05 < broadcasts / len(data.hootsuite_messages) < 0.2


def test_newest_duplicate_carries_the_true_email_and_older_ones_differ_only_in_case_or_space() -> None:
    data = generate()
    by_id = {c["id"]: c for c in data.hubspot_contacts}
    duplicated = 0
    for person in data.ground_truth["persons"]:
        ids = [r["source_id"] for r in person["source_records"] if r["source"] == "hubspot"]
        if len(ids) < 2:
            continue
        duplicated += 1
        records = sorted((by_id[i] for i in ids), key=lambda c: c["properties"]["lastmodifieddate"])
        assert records[-1]["properties"]["email"] == person["email"]
        for older in records[:-1]:
            assert older["properties"]["email"].strip().lower() == person["email"]
    assert duplicated >= 10


def test_data_has_dutch_naw_persian_variants_and_timestamps_in_the_120_days_before_anchor() -> None:
    data = generate()
    persons = data.ground_truth["persons"]
    assert {"van", "van der", "de"} <= {p["name_prefix"] for p in persons}
    assert all(
        re.fullmatch(r"\d{4} [A-Z]{2}", p["address"]["postcode"]) for p in persons if p["address"]["country"] == "NL"
    )
    assert all(re.fullmatch(r"\+\d{9,13}", p["phone"]) for p in persons)
    lastnames = " ".join(c["properties"]["lastname"] for c in data.hubspot_contacts)
    assert "ی" in lastnames and "ي" in lastnames  # Persian and Arabic yeh across duplicates
    anchor = datetime(2026, 11, 1, tzinfo=UTC)
    for contact in data.hubspot_contacts:
        created = datetime.fromisoformat(contact["createdAt"].replace("Z", "+00:00"))
        assert anchor - timedelta(days=120) <= created <= anchor
        assert all(v is None or isinstance(v, str) for v in contact["properties"].values())
    assert any(c["archived"] for c in data.hubspot_contacts)
