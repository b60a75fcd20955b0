"""Social messages become work (issue 14): filter, suppression, attribution, response times, routing.

Each test runs the reconcile stage functions (match and survive, load) on DuckDB and PostgreSQL with
a small hand-written set of people and Sprout/Hootsuite messages, and checks one behaviour. The
message texts are plain ones the classifier reads without doubt (checked in ``test_the_texts_read_as_meant``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from wh_helpers import contact, raw_record, ts

from crmhub.errors import ConfigError
from crmhub.messages import classify
from crmhub.messages import filter as message_filter
from crmhub.messages.routing import load_routing
from crmhub.model import CASE_COLUMNS, CONTACT_COLUMNS, INTERACTION_COLUMNS, OPPORTUNITY_COLUMNS, conform
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse

COMPLAINT = "Mijn bestelling is nog steeds niet binnen 😕"
COMPLAINT_2 = "@Telvaro al 3 dagen geen internet, waardeloos"
QUESTION = "Hoe kan ik mijn abonnement opzeggen?"
QUESTION_2 = "Wanneer wordt mijn router geleverd?"
LEAD = "Wat kost glasvezel bij jullie? Ik wil overstappen"
SPAM = "Win een gratis iPhone! Klik hier http://spam.example"
PRAISE = "Dank jullie wel, top geholpen!"


def people() -> list[dict[str, Any]]:
    """Sanne and Kees are CRM contacts (HubSpot) with a Twitter handle Sprout knows; Mo only tweets."""
    return [
        contact("hubspot", "101", "2025-01-01", social_network="twitter", social_handle="sanne_b"),
        contact(
            "sprout",
            "twitter:sanne_b",
            "2025-01-01",
            first_name=None,
            last_name=None,
            email=None,
            city=None,
            country=None,
            social_network="twitter",
            social_handle="sanne_b",
        ),  # fmt: skip
        contact(
            "hubspot",
            "102",
            "2025-01-01",
            first_name="Kees",
            last_name="Jansen",
            email="kees@example.nl",
            city="Ede",
            social_network="twitter",
            social_handle="kees_j",
        ),  # fmt: skip
        contact(
            "sprout",
            "twitter:kees_j",
            "2025-01-01",
            first_name=None,
            last_name=None,
            email=None,
            city=None,
            country=None,
            social_network="twitter",
            social_handle="kees_j",
        ),  # fmt: skip
        contact(
            "sprout",
            "twitter:mo",
            "2025-01-01",
            first_name=None,
            last_name=None,
            email=None,
            city=None,
            country=None,
            social_network="twitter",
            social_handle="mo",
        ),  # fmt: skip
    ]


def message(source_id: str, at: Any, text: str, who: str | None, **over: Any) -> dict[str, Any]:
    row = {
        "source": "sprout",
        "source_id": source_id,
        "contact_source_id": who,
        "occurred_at": ts(at) if isinstance(at, str) else pd.Timestamp(at),
        "channel": "twitter",
        "direction": "inbound",
        "interaction_type": "mention",
        "text": text,
        "campaign": None,
        "thread_id": source_id,
    }
    row.update(over)
    return row


def reply(source_id: str, at: str, thread: str, who: str) -> dict[str, Any]:
    return message(source_id, at, "@klant sorry, we kijken mee!", who, direction="outbound",
                   interaction_type="reply", thread_id=thread)  # fmt: skip


def record(kind: str, source_id: str, contact_id: str, **over: Any) -> dict[str, Any]:
    columns = CASE_COLUMNS if kind == "cases" else OPPORTUNITY_COLUMNS
    row: dict[str, Any] = {c: None for c in columns}
    row.update(source="hubspot", source_id=source_id, contact_source_id=contact_id, is_deleted=False,
               source_updated_at=ts("2025-01-02"), is_closed=False)  # fmt: skip
    if kind == "cases":
        row.update(subject="Storing", channel="email", status="open", is_complaint=False, created_at=ts("2025-01-02"))
    else:
        row.update(name="Glasvezel", stage="proposal", amount=1200.0, currency="EUR", is_won=False,
                   created_at=ts("2025-01-02"))  # fmt: skip
    row.update(over)
    return row


def run(
    wh: Warehouse,
    data: Path,
    run_id: str,
    interactions: list[dict[str, Any]],
    *,
    cases: list[dict[str, Any]] = (),  # type: ignore[assignment]
    opportunities: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    files = stage.run_folder(data, run_id)
    files.write("contacts", conform(pd.DataFrame(people()), CONTACT_COLUMNS))
    files.write("interactions", conform(pd.DataFrame(interactions, columns=INTERACTION_COLUMNS), INTERACTION_COLUMNS))
    files.write("cases", conform(pd.DataFrame(list(cases), columns=CASE_COLUMNS), CASE_COLUMNS))
    files.write(
        "opportunities", conform(pd.DataFrame(list(opportunities), columns=OPPORTUNITY_COLUMNS), OPPORTUNITY_COLUMNS)
    )
    stage.match_and_survive(wh, files, run_id, rules=load_rules())
    stage.load(wh, files, run_id, state_dir=stage.state_dir(data))
    return json.loads((files.folder / "summary.json").read_text(encoding="utf-8"))


def golden_of(wh: Warehouse, source_id: str) -> str:
    found = wh.query(
        "SELECT golden_id FROM core.contact_xref WHERE is_current AND source = 'hubspot' AND source_id = :id",
        {"id": source_id},
    )
    return str(found["golden_id"][0])


def test_the_texts_read_as_meant() -> None:
    read = {
        t: classify(t, network="twitter").intent for t in (COMPLAINT, COMPLAINT_2, QUESTION, QUESTION_2, LEAD, PRAISE)
    }
    assert read == {COMPLAINT: "complaint", COMPLAINT_2: "complaint", QUESTION: "service_question",
                    QUESTION_2: "service_question", LEAD: "sales_lead", PRAISE: "praise"}  # fmt: skip
    spam = classify(SPAM, network="twitter")
    assert spam.intent == "other" and spam.explanation["cues"].get("spam")


# -- item 3: the interaction filter counts every message it leaves out -----------------------------


def test_the_filter_counts_every_left_out_message(
    wh: Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "interactions.yaml"
    config.write_text("include:\n  prospects: false\n", encoding="utf-8")
    monkeypatch.setattr(message_filter, "INTERACTIONS_CONFIG", config)
    messages = [
        message("m1", "2025-03-01T09:00:00", QUESTION, "twitter:sanne_b"),  # kept
        reply("m2", "2025-03-01T10:00:00", "m1", "twitter:sanne_b"),  # kept: the brand's reply to Sanne
        message("m3", "2025-03-01T11:00:00", SPAM, "twitter:kees_j"),  # spam
        message("m4", "2025-03-01T12:00:00", LEAD, "twitter:mo"),  # a prospect, and prospects: false
        message("m5", "2025-03-01T13:00:00", COMPLAINT, "twitter:ghost"),  # unknown_contact
        message(
            "p1",
            "2025-03-01T08:00:00",
            "Nieuw: glasvezel 1 Gbit!",
            None,
            source="hootsuite",
            direction="outbound",
            interaction_type="post",
        ),  # fmt: skip  # brand_post
        message(
            "e1",
            "2025-03-01T08:00:00",
            "Vraag per mail",
            None,
            source="hubspot",
            channel="email",
            interaction_type="email",
        ),  # fmt: skip  # no_contact
    ]
    summary = run(wh, tmp_path, "run-1", messages)

    expected = {"brand_post": 1, "spam": 1, "prospect": 1, "unknown_contact": 1, "no_contact": 1}
    counts = wh.query(
        "SELECT rule, sum(messages) AS n FROM audit.interaction_filter_counts WHERE run_id = 'run-1' GROUP BY rule"
    )
    assert {r: int(n) for r, n in counts.itertuples(index=False)} == expected
    assert summary["match_and_survive"]["interaction_filter"]["left_out_by_rule"] == expected
    kept = wh.query("SELECT source_id FROM core.interactions ORDER BY source_id")["source_id"].tolist()
    assert kept == ["m1", "m2"]
    assert len(kept) + sum(expected.values()) == len(messages)  # nothing disappears
    # every inbound social message keeps its understanding and the reason it was left out
    why = wh.query("SELECT source_id, kept, filter_rule, intent FROM core.interaction_understanding ORDER BY source_id")
    why = why.astype(object).where(why.notna(), None)
    assert why.values.tolist() == [
        ["m1", True, None, "service_question"],
        ["m3", False, "spam", "other"],
        ["m4", False, "prospect", "sales_lead"],
        ["m5", False, "unknown_contact", "complaint"],
    ]
    explanation = json.loads(
        wh.query("SELECT explanation FROM core.interaction_understanding WHERE source_id = 'm5'")["explanation"][0]
    )
    assert explanation["intent"]["label"] == "complaint" and COMPLAINT not in json.dumps(explanation)


def test_a_bad_filter_file_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "interactions.yaml"
    config.write_text("include:\n  intents: [complaint, gossip]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        message_filter.load_interaction_filter(config)
    assert (err.value.file, err.value.key) == (str(config), "include.intents") and "gossip" in err.value.reason
    config.write_text("exclude:\n  spam: maybe\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"exclude\.spam: must be true or false"):
        message_filter.load_interaction_filter(config)


def test_a_bad_routing_file_names_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "routing.yaml"
    config.write_text("rules:\n  - {name: x, when: {intent: [complaint]}, department: legal}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_routing(config)
    assert (err.value.file, err.value.key) == (str(config), "rules[0].department")


# -- item 5: a complaint loaded today suppresses its sender today -----------------------------------


def test_a_complaint_loaded_today_puts_its_sender_on_the_suppression_list_today(wh: Warehouse, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    run(wh, tmp_path, "run-1", [message("m1", now - timedelta(minutes=5), COMPLAINT, "twitter:sanne_b")])
    sanne = golden_of(wh, "101")
    listed = wh.query("SELECT * FROM mart.marketing_suppression").to_dict("records")
    assert [(r["golden_id"], r["reason"], r["social_complaint_count"]) for r in listed] == [
        (sanne, "social_complaint", 1)
    ]
    until = pd.Timestamp(listed[0]["social_suppressed_until"]).tz_convert("UTC")
    assert until == pd.Timestamp(now.date(), tz="UTC") + pd.Timedelta(days=2)  # the rest of today and tomorrow
    # customer 360 shows it as the last complaint
    row = wh.query("SELECT * FROM mart.customer_360 WHERE golden_id = :g", {"g": sanne}).to_dict("records")[0]
    assert (row["last_complaint_kind"], row["last_complaint_channel"]) == ("social", "twitter")


def test_a_complaint_loaded_days_ago_no_longer_suppresses(wh: Warehouse, tmp_path: Path) -> None:
    run(wh, tmp_path, "run-1", [message("m1", "2025-03-01T09:00:00", COMPLAINT, "twitter:sanne_b")])
    wh.engine.execute(
        "UPDATE core.interaction_understanding SET first_loaded_at = :at", {"at": datetime.now(UTC) - timedelta(days=2)}
    )
    assert wh.query("SELECT count(*) AS n FROM mart.marketing_suppression")["n"][0] == 0


# -- item 6: attribution counts only sales leads ------------------------------------------------------


def test_a_complaint_tweet_is_not_credited_to_a_won_deal(wh: Warehouse, tmp_path: Path) -> None:
    won = {"is_closed": True, "is_won": True, "stage": "closedwon"}
    run(
        wh,
        tmp_path,
        "run-1",
        [
            message("m1", "2025-03-01T09:00:00", COMPLAINT, "twitter:sanne_b"),
            message("m2", "2025-03-02T09:00:00", LEAD, "twitter:kees_j"),
        ],
        opportunities=[
            record("opportunities", "D1", "101", created_at=ts("2025-03-05"), **won),
            record("opportunities", "D2", "102", created_at=ts("2025-03-05"), amount=None, **won),
        ],
    )
    deals = {r["source_id"]: r for r in wh.query("SELECT * FROM mart.social_to_opportunity").to_dict("records")}
    assert (deals["D1"]["social_interaction_count"], deals["D1"]["has_social_lead"]) == (0, False)
    assert deals["D1"]["other_social_interaction_count"] == 1  # the complaint, shown but not credited
    assert (deals["D2"]["social_interaction_count"], deals["D2"]["first_touch_interaction"]) == (1, "sprout:m2")
    assert deals["D2"]["attribution_model"] == "sales_lead_in_window"


def test_a_won_deal_without_an_amount_is_unknown_revenue_not_zero(wh: Warehouse, tmp_path: Path) -> None:
    won = {"is_closed": True, "is_won": True, "stage": "closedwon"}
    run(
        wh,
        tmp_path,
        "run-1",
        [message("m2", "2025-03-02T09:00:00", LEAD, "twitter:kees_j", campaign="Lente")],
        opportunities=[record("opportunities", "D2", "102", created_at=ts("2025-03-05"), amount=None, **won)],
    )
    lente = wh.query("SELECT * FROM mart.campaign_revenue WHERE campaign_key = 'lente'").to_dict("records")[0]
    assert (lente["won_opportunity_count"], lente["unknown_amount_won_count"], lente["social_won_count"]) == (1, 1, 1)
    assert pd.isna(lente["revenue"]) and pd.isna(lente["social_revenue"])


# -- item 6: social first-response and resolution times from the brand's replies ------------------------


def test_social_response_times_match_hand_computed_threads(wh: Warehouse, tmp_path: Path) -> None:
    run(
        wh,
        tmp_path,
        "run-1",
        [
            # thread A (Monday 2025-03-10): complaint 08:00, reply 09:30, Sanne again 10:00, reply 12:00
            message("a1", "2025-03-10T08:00:00", COMPLAINT_2, "twitter:sanne_b", thread_id="A"),
            reply("a2", "2025-03-10T09:30:00", "A", "twitter:sanne_b"),
            message("a3", "2025-03-10T10:00:00", QUESTION_2, "twitter:sanne_b", thread_id="A"),
            reply("a4", "2025-03-10T12:00:00", "A", "twitter:sanne_b"),
            # thread B: question 08:00, reply 08:30, nothing after
            message("b1", "2025-03-11T08:00:00", QUESTION, "twitter:kees_j", thread_id="B"),
            reply("b2", "2025-03-11T08:30:00", "B", "twitter:kees_j"),
            # thread C: question without an answer; thread D: praise is no service question
            message("c1", "2025-03-12T08:00:00", QUESTION_2, "twitter:kees_j", thread_id="C"),
            message("d1", "2025-03-12T09:00:00", PRAISE, "twitter:kees_j", thread_id="D"),
            reply("d2", "2025-03-12T09:10:00", "D", "twitter:kees_j"),
        ],
    )
    week = wh.query("SELECT * FROM mart.service_questions WHERE channel = 'twitter' AND iso_week = 11").to_dict(
        "records"
    )
    assert len(week) == 1
    w = week[0]
    assert (w["social_thread_count"], w["social_complaint_count"], w["open_social_thread_count"]) == (3, 1, 1)
    assert (w["responded_social_thread_count"], w["resolved_social_thread_count"]) == (2, 2)
    # first responses 1.5 h (A) and 0.5 h (B); resolutions 4 h (A: 08:00 -> 12:00) and 0.5 h (B)
    assert (w["median_social_first_response_hours"], w["avg_social_first_response_hours"]) == (1.0, 1.0)
    assert (w["median_social_resolution_hours"], w["avg_social_resolution_hours"]) == (2.25, 2.25)
    assert w["case_count"] == 0  # next to CRM cases, not mixed into them


# -- item 4: routing -------------------------------------------------------------------------------------


def test_routing_sends_open_case_to_service_and_open_deal_to_the_deal_owner_in_sales(
    wh: Warehouse, tmp_path: Path
) -> None:
    wh.land_raw(
        pd.DataFrame(
            [
                raw_record(
                    "D9",
                    "2025-01-02",
                    {"id": "D9", "properties": {"hubspot_owner_id": "owner-42"}},
                    object_type="deals",
                )
            ]  # fmt: skip
        )
    )
    praise = [  # the same praise from three people: only their CRM context differs
        message("m1", "2025-03-01T09:00:00", PRAISE, "twitter:sanne_b"),
        message("m2", "2025-03-01T09:00:00", PRAISE, "twitter:kees_j"),
        message("m3", "2025-03-01T09:00:00", PRAISE, "twitter:mo"),
    ]
    cases = [record("cases", "C1", "101")]
    deals = [record("opportunities", "D9", "102")]
    run(wh, tmp_path, "run-1", praise, cases=cases, opportunities=deals)
    queue = wh.query("SELECT source_id, department, rule, owner, priority FROM mart.routing_queue ORDER BY source_id")
    queue = queue.astype(object).where(queue.notna(), None)
    assert queue.values.tolist() == [
        ["m1", "service", "open_case", None, "low"],
        ["m2", "sales", "open_deal", "owner-42", "low"],
        ["m3", "marketing", "praise", None, "low"],
    ]
    open_ = wh.query("SELECT is_open, sla_hours, age_hours FROM mart.routing_queue WHERE source_id = 'm1'").to_dict(
        "records"
    )[0]
    assert open_["is_open"] and open_["sla_hours"] == 8.0 and open_["age_hours"] > 24
    m1 = wh.query("SELECT * FROM mart.routing_queue WHERE source_id = 'm1'").to_dict("records")[0]
    assert pd.Timestamp(m1["due_at"]) == ts("2025-03-01T17:00:00") and m1["is_overdue"]
    # a rerun routes nothing again, even when the context changed since (a message is routed once)
    before = wh.query("SELECT * FROM core.routing_queue ORDER BY source_id")
    run(wh, tmp_path, "run-2", praise, cases=[record("cases", "C1", "101", is_closed=True)], opportunities=deals)
    pd.testing.assert_frame_equal(wh.query("SELECT * FROM core.routing_queue ORDER BY source_id"), before)


def test_rerunning_with_social_messages_changes_no_understanding_or_routing(wh: Warehouse, tmp_path: Path) -> None:
    messages = [
        message("m1", "2025-03-01T09:00:00", COMPLAINT, "twitter:sanne_b"),
        reply("m2", "2025-03-01T10:00:00", "m1", "twitter:sanne_b"),
        message("m3", "2025-03-01T11:00:00", SPAM, "twitter:kees_j"),
    ]
    run(wh, tmp_path, "run-1", messages)
    tables = ["core.interaction_understanding", "core.routing_queue", "core.interactions"]
    before = {t: wh.checksum(t) for t in tables}
    run(wh, tmp_path, "run-2", messages)
    assert {t: wh.checksum(t) for t in tables} == before
