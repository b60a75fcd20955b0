"""The BI marts answer the product's questions (DESIGN.md §1) on a small hand-built warehouse.

Every test runs on DuckDB and PostgreSQL (the ``wh`` fixture). The data is inserted straight into
core (not through ``load_reconciled``) so these tests are about the views alone: every row in
``build`` is one fact a mart question depends on, written out so the expected answers can be checked
by hand. Cases the suppression window looks at are dated relative to now.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from crmhub.errors import ConfigError
from crmhub.warehouse import Warehouse, sqlfiles

NOW = datetime.now(UTC).replace(microsecond=0)
RUN = {"loaded_run_id": "run-1", "loaded_at": NOW}


def ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def insert(wh: Warehouse, table: str, rows: list[dict[str, Any]]) -> None:
    """INSERT rows (dicts with the same keys) with ``:name`` parameters through the engine."""
    for row in rows:
        columns = list(row)
        wh.engine.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})", row
        )


def golden(golden_id: str, **over: Any) -> dict[str, Any]:
    row = {
        "golden_id": golden_id,
        "first_name": "Jan",
        "name_prefix": "de",
        "last_name": "Vries",
        "email": f"{golden_id.lower()}@example.nl",
        "phone": None,
        "city": "Utrecht",
        "social_network": None,
        "social_handle": None,
        "social_followers": None,
        "source_updated_at": ts("2025-01-01"),
        "is_deleted": False,
        "change_hash": golden_id,
        "valid_from": ts("2025-01-01"),
        "valid_to": None,
        "is_current": True,
        **RUN,
    }
    row.update(over)
    return row


def xref(source: str, source_id: str, golden_id: str, **over: Any) -> dict[str, Any]:
    row = {
        "source": source,
        "source_id": source_id,
        "golden_id": golden_id,
        "match_rule": "email",
        "match_key": None,
        "valid_from": ts("2025-01-01"),
        "valid_to": None,
        "is_current": True,
        **RUN,
    }
    row.update(over)
    return row


def interaction(source_id: str, occurred: str, golden_id: str = "G1", **over: Any) -> dict[str, Any]:
    row = {
        "source": "hootsuite",
        "source_id": source_id,
        "contact_source_id": "twitter:jan_dv",
        "occurred_at": ts(occurred),
        "channel": "twitter",
        "direction": "inbound",
        "interaction_type": "mention",
        "text": f"message {source_id}",
        "campaign": None,
        "thread_id": None,
        "golden_id": golden_id,
        **RUN,
    }
    row.update(over)
    return row


def understanding(source_id: str, occurred: str, golden_id: str = "G1", **over: Any) -> dict[str, Any]:
    """Message understanding of an inbound social interaction (core.interaction_understanding)."""
    row = {
        "source": "hootsuite",
        "source_id": source_id,
        "golden_id": golden_id,
        "occurred_at": ts(occurred),
        "channel": "twitter",
        "direction": "inbound",
        "language": "nl",
        "intent": "sales_lead",
        "complaint": False,
        "sentiment": "neutral",
        "explanation": "{}",
        "model": "test",
        "kept": True,
        "filter_rule": None,
        "first_loaded_at": ts(occurred),
        **RUN,
    }
    row.update(over)
    return row


def opportunity(source_id: str, golden_id: str | None, created: str, amount: float, **over: Any) -> dict[str, Any]:
    row = {
        "source": "salesforce",
        "source_id": source_id,
        "contact_source_id": None,
        "name": f"Deal {source_id}",
        "stage": "Closed Won",
        "amount": amount,
        "currency": "EUR",
        "is_closed": True,
        "is_won": True,
        "lead_source": "Social Media",
        "campaign_source_id": None,
        "created_at": ts(created),
        "closed_at": ts(created) + pd.Timedelta(days=20),
        "source_updated_at": ts("2025-06-01"),
        "is_deleted": False,
        "golden_id": golden_id,
        **RUN,
    }
    row.update(over)
    return row


def case(source_id: str, golden_id: str | None, created: datetime | str, **over: Any) -> dict[str, Any]:
    created_at = ts(created) if isinstance(created, str) else pd.Timestamp(created)
    row = {
        "source": "salesforce",
        "source_id": source_id,
        "contact_source_id": None,
        "subject": f"Question {source_id}",
        "channel": "twitter",
        "status": "Closed",
        "priority": "Medium",
        "is_complaint": False,
        "is_closed": True,
        "created_at": created_at,
        "first_response_at": None,
        "closed_at": None,
        "source_updated_at": created_at,
        "is_deleted": False,
        "golden_id": golden_id,
        **RUN,
    }
    row.update(over)
    return row


def campaign(source: str, source_id: str, name: str, channel: str, **over: Any) -> dict[str, Any]:
    row = {
        "source": source,
        "source_id": source_id,
        "name": name,
        "channel": channel,
        "status": "Completed",
        "started_at": ts("2025-02-01"),
        "ended_at": ts("2025-04-01"),
        "source_updated_at": ts("2025-04-01"),
        "is_deleted": False,
        **RUN,
    }
    row.update(over)
    return row


def build(wh: Warehouse) -> None:
    """The hand-built warehouse.

    People: G1 Jan (twitter, 1,200 followers; three source records), G2 Sara (no social profile),
    G3 deleted, G4 with an old closed version and a current one.
    """
    insert(
        wh,
        "core.golden_contacts",
        [
            golden("G1", social_network="twitter", social_handle="jan_dv", social_followers=1200.0),
            golden("G2", first_name="Sara", name_prefix=None, last_name="Ahmadi"),
            golden("G3", first_name="Piet", is_deleted=True),
            golden("G4", first_name="Old", valid_to=ts("2025-02-01"), is_current=False, change_hash="old"),
            golden("G4", first_name="Noor", valid_from=ts("2025-02-01")),
        ],
    )
    insert(
        wh,
        "core.contact_xref",
        [
            xref("hubspot", "101", "G1"),
            xref("hootsuite", "twitter:jan_dv", "G1", match_rule="social"),
            xref("hootsuite", "instagram:Jan.Insta", "G1", match_rule="social"),
            xref("salesforce", "003B", "G2"),
            xref("salesforce", "003X", "G2", valid_to=ts("2025-02-01"), is_current=False),
            xref("hubspot", "103", "G3"),
        ],
    )
    insert(
        wh,
        "core.campaigns",
        [
            campaign("salesforce", "701A", "Spring Sale", "social", source_updated_at=ts("2025-04-02")),
            campaign("hootsuite", "spring-sale", " spring sale", "social", started_at=ts("2025-01-15")),
            campaign("salesforce", "701B", "Newsletter", "email"),
            campaign("salesforce", "701Z", "Gone", "email", is_deleted=True),
        ],
    )
    insert(
        wh,
        "core.interactions",
        [
            # G1 before O1 (created 2025-03-10): three inbound social in the 30-day window...
            interaction("t1", "2025-02-10T12:00:00", campaign="Spring Sale"),  # exactly 28 days before
            interaction("t2", "2025-03-01T09:00:00", channel="facebook", campaign="Summer Promo"),
            interaction("t3", "2025-03-09T18:00:00"),
            # ...and what does not count: too early, outbound, not social, after creation
            interaction("t0", "2025-02-01T12:00:00", campaign="Spring Sale"),
            interaction("t4", "2025-03-05T10:00:00", direction="outbound", interaction_type="reply"),
            interaction("e1", "2025-03-06T10:00:00", source="hubspot", channel="email", interaction_type="email"),
            interaction("t5", "2025-03-12T10:00:00"),
            # G2: one tagged tweet before O3 (created 2025-05-10)
            interaction("s1", "2025-05-01T10:00:00", golden_id="G2", campaign="Summer Promo"),
            # deleted G3 talks too, but is in no mart
            interaction("d1", "2025-03-01T10:00:00", golden_id="G3"),
        ],
    )
    insert(
        wh,
        "core.interaction_understanding",
        [  # every inbound social message above reads as a sales lead (the attribution model counts only those)
            understanding("t0", "2025-02-01T12:00:00"),
            understanding("t1", "2025-02-10T12:00:00"),
            understanding("t2", "2025-03-01T09:00:00", channel="facebook"),
            understanding("t3", "2025-03-09T18:00:00"),
            understanding("t5", "2025-03-12T10:00:00"),
            understanding("s1", "2025-05-01T10:00:00", golden_id="G2"),
            understanding("d1", "2025-03-01T10:00:00", golden_id="G3"),
        ],
    )
    insert(
        wh,
        "core.opportunities",
        [
            opportunity("O1", "G1", "2025-03-10T00:00:00", 1000.0, campaign_source_id="701A"),
            opportunity("O2", "G1", "2025-03-20T00:00:00", 500.0, is_closed=False, is_won=False, stage="Proposal"),
            opportunity("O5", "G1", "2025-03-21T00:00:00", 250.0, is_closed=False, is_won=False, stage="Prospecting"),
            opportunity("O3", "G2", "2025-05-10T00:00:00", 300.0),
            opportunity("O4", "G2", "2025-05-11T00:00:00", 9999.0, is_deleted=True, campaign_source_id="701A"),
            opportunity("O6", None, "2025-05-12T00:00:00", 70.0, campaign_source_id="701B"),
            opportunity("O7", "G2", "2025-06-01T00:00:00", 40.0, is_won=False, stage="Closed Lost"),
        ],
    )
    insert(
        wh,
        "core.cases",
        [
            # week 2025-W11 (Mon 2025-03-10), twitter: responses after 1 h and 3 h, resolutions after 2 h and 10 h
            case(
                "C1",
                "G1",
                "2025-03-10T08:00:00",
                first_response_at=ts("2025-03-10T09:00:00"),
                closed_at=ts("2025-03-10T10:00:00"),
            ),
            case(
                "C2",
                "G2",
                "2025-03-16T20:00:00",
                first_response_at=ts("2025-03-16T23:00:00"),
                closed_at=ts("2025-03-17T06:00:00"),
            ),
            # same week, twitter, still open and unanswered complaint of G1 (old, but open)
            case("C3", "G1", "2025-03-12T08:00:00", is_complaint=True, is_closed=False, status="New"),
            # same week, email
            case("C4", None, "2025-03-11T08:00:00", channel="email", first_response_at=ts("2025-03-11T08:30:00")),
            # next ISO week (2025-W12), twitter; a clock-skewed first response (before creation) is ignored
            case("C5", None, "2025-03-17T08:00:00", first_response_at=ts("2025-03-17T07:00:00")),
            # deleted cases count nowhere
            case("C6", "G4", "2025-03-12T08:00:00", is_deleted=True, is_complaint=True, is_closed=False),
            # G4: a closed case ten days ago (inside the 90-day suppression window)
            case("C7", "G4", NOW - timedelta(days=10), channel="email"),
            # G2: a closed case long ago only (C2) -> not suppressed; deleted G3 has an open complaint
            case("C8", "G3", NOW - timedelta(days=1), is_complaint=True, is_closed=False),
        ],
    )


@pytest.fixture
def marts(wh: Warehouse) -> Iterator[Warehouse]:
    build(wh)
    yield wh


def rows(wh: Warehouse, sql: str) -> list[dict]:
    return wh.query(sql).to_dict("records")


def by(frame: pd.DataFrame, column: str) -> dict:
    return {row[column]: row for row in frame.to_dict("records")}


def test_customer_360_has_one_row_per_current_live_person(marts: Warehouse) -> None:
    people = marts.query("SELECT golden_id, first_name FROM mart.customer_360 ORDER BY golden_id")
    assert people.values.tolist() == [["G1", "Jan"], ["G2", "Sara"], ["G4", "Noor"]]


def test_customer_360_shows_sources_social_value_open_cases_and_deals(marts: Warehouse) -> None:
    jan = by(marts.query("SELECT * FROM mart.customer_360"), "golden_id")["G1"]
    assert (jan["sources"], jan["source_count"], jan["source_record_count"]) == ("hootsuite,hubspot", 2, 3)
    assert jan["social_handles"] == "instagram:jan.insta,twitter:jan_dv"
    assert jan["social_followers"] == 1200.0
    assert (jan["open_case_count"], jan["open_complaint_count"]) == (1, 1)
    assert (jan["open_opportunity_count"], jan["open_opportunity_amount"]) == (2, 750.0)
    assert jan["open_opportunity_currencies"] == "EUR"


def test_customer_360_shows_the_last_interaction(marts: Warehouse) -> None:
    jan = by(marts.query("SELECT * FROM mart.customer_360"), "golden_id")["G1"]
    assert jan["interaction_count"] == 7
    assert jan["last_interaction_at"] == ts("2025-03-12T10:00:00")
    last = (jan["last_interaction_channel"], jan["last_interaction_type"], jan["last_interaction_direction"])
    assert last == ("twitter", "mention", "inbound")


def test_customer_360_of_a_person_without_deals_cases_or_social_shows_zeros(marts: Warehouse) -> None:
    sara = by(marts.query("SELECT * FROM mart.customer_360"), "golden_id")["G2"]
    assert (sara["open_case_count"], sara["open_opportunity_count"], sara["open_opportunity_amount"]) == (0, 0, 0)
    assert pd.isna(sara["social_handles"]) and pd.isna(sara["social_followers"])
    assert sara["source_record_count"] == 1  # the closed xref version does not count


def test_timeline_lists_interactions_cases_and_opportunities_in_time_order(marts: Warehouse) -> None:
    events = marts.query(
        "SELECT event_seq, event_kind, source_id FROM mart.interaction_timeline "
        "WHERE golden_id = 'G1' ORDER BY event_seq"
    )
    assert events["event_seq"].tolist() == list(range(1, 13))
    assert list(zip(events["event_kind"], events["source_id"], strict=True)) == [
        ("interaction", "t0"),
        ("interaction", "t1"),
        ("interaction", "t2"),
        ("interaction", "t4"),
        ("interaction", "e1"),
        ("interaction", "t3"),
        ("opportunity", "O1"),
        ("case", "C1"),
        ("case", "C3"),
        ("interaction", "t5"),
        ("opportunity", "O2"),
        ("opportunity", "O5"),
    ]


def test_timeline_rows_carry_channel_direction_type_and_campaign(marts: Warehouse) -> None:
    events = by(marts.query("SELECT * FROM mart.interaction_timeline WHERE golden_id = 'G1'"), "source_id")
    tweet, reply, deal, complaint = events["t1"], events["t4"], events["O1"], events["C3"]
    assert (tweet["channel"], tweet["direction"], tweet["event_type"], tweet["campaign"]) == (
        "twitter",
        "inbound",
        "mention",
        "Spring Sale",
    )
    assert (reply["direction"], reply["event_type"]) == ("outbound", "reply")
    assert (deal["campaign"], deal["amount"], deal["currency"], deal["status"]) == (
        "Spring Sale",
        1000.0,
        "EUR",
        "Closed Won",
    )
    assert (complaint["event_type"], complaint["channel"], complaint["summary"]) == (
        "complaint",
        "twitter",
        "Question C3",
    )


def test_timeline_leaves_out_deleted_people_and_deleted_cases(marts: Warehouse) -> None:
    people = marts.query("SELECT DISTINCT golden_id FROM mart.interaction_timeline ORDER BY golden_id")
    assert people["golden_id"].tolist() == ["G1", "G2", "G4"]
    noor = marts.query("SELECT source_id FROM mart.interaction_timeline WHERE golden_id = 'G4'")
    assert noor["source_id"].tolist() == ["C7"]


def test_social_to_opportunity_counts_inbound_social_messages_in_the_lookback_window(marts: Warehouse) -> None:
    opps = by(marts.query("SELECT * FROM mart.social_to_opportunity"), "source_id")
    o1 = opps["O1"]  # t1, t2, t3 count; t0 (too early), t4 (outbound), e1 (email), t5 (after) do not
    assert o1["social_interaction_count"] == 3
    assert o1["social_channels"] == "facebook,twitter"
    assert (o1["first_social_at"], o1["last_social_at"]) == (ts("2025-02-10T12:00:00"), ts("2025-03-09T18:00:00"))
    assert o1["campaign_social_interaction_count"] == 1  # t1 is tagged with O1's campaign
    assert (o1["campaign_name"], o1["amount"], o1["has_social_lead"], o1["lookback_days"]) == (
        "Spring Sale",
        1000.0,
        True,
        30,
    )
    assert opps["O2"]["social_interaction_count"] == 3  # t2, t3, t5


def test_social_to_opportunity_excludes_messages_older_than_the_window(marts: Warehouse) -> None:
    opps = by(marts.query("SELECT * FROM mart.social_to_opportunity"), "source_id")
    assert opps["O3"]["social_interaction_count"] == 1  # s1, 9 days before
    assert opps["O7"]["social_interaction_count"] == 0  # s1 is 30.6 days before O7
    assert not opps["O7"]["has_social_lead"]


def test_social_to_opportunity_keeps_opportunities_without_a_person_and_drops_deleted_ones(marts: Warehouse) -> None:
    opps = by(marts.query("SELECT * FROM mart.social_to_opportunity"), "source_id")
    assert sorted(opps) == ["O1", "O2", "O3", "O5", "O6", "O7"]
    assert opps["O6"]["social_interaction_count"] == 0 and pd.isna(opps["O6"]["golden_id"])


def test_service_questions_counts_cases_per_channel_and_iso_week(marts: Warehouse) -> None:
    weeks = marts.query(
        "SELECT channel, iso_year, iso_week, week_start, case_count, complaint_count, open_case_count "
        "FROM mart.service_questions WHERE iso_year = 2025 ORDER BY channel, iso_week"
    )
    assert weeks.values.tolist() == [
        ["email", 2025, 11, pd.Timestamp("2025-03-10").date(), 1, 0, 0],
        ["twitter", 2025, 11, pd.Timestamp("2025-03-10").date(), 3, 1, 1],
        ["twitter", 2025, 12, pd.Timestamp("2025-03-17").date(), 1, 0, 0],
    ]


def test_service_questions_reports_median_and_average_response_and_resolution_hours(marts: Warehouse) -> None:
    week = rows(marts, "SELECT * FROM mart.service_questions WHERE channel = 'twitter' AND iso_week = 11")[0]
    assert week["responded_case_count"] == 2 and week["resolved_case_count"] == 2
    assert (week["median_first_response_hours"], week["avg_first_response_hours"]) == (2.0, 2.0)  # 1 h and 3 h
    assert (week["median_resolution_hours"], week["avg_resolution_hours"]) == (6.0, 6.0)  # 2 h and 10 h


def test_service_questions_ignores_unanswered_and_clock_skewed_cases_in_the_times(marts: Warehouse) -> None:
    week = rows(marts, "SELECT * FROM mart.service_questions WHERE channel = 'twitter' AND iso_week = 12")[0]
    assert (week["case_count"], week["responded_case_count"]) == (1, 0)
    assert pd.isna(week["median_first_response_hours"]) and pd.isna(week["avg_first_response_hours"])
    email = rows(marts, "SELECT * FROM mart.service_questions WHERE channel = 'email' AND iso_week = 11")[0]
    assert email["avg_first_response_hours"] == 0.5 and email["resolved_case_count"] == 0


def test_campaign_revenue_attributes_each_won_opportunity_to_one_campaign(marts: Warehouse) -> None:
    campaigns = by(marts.query("SELECT * FROM mart.campaign_revenue"), "campaign_key")
    assert sorted(campaigns) == ["newsletter", "spring sale", "summer promo"]
    spring, summer, news = campaigns["spring sale"], campaigns["summer promo"], campaigns["newsletter"]
    # O1 names Spring Sale in the CRM: direct, even though a Summer Promo tweet is in its window
    assert (spring["direct_won_count"], spring["direct_revenue"], spring["social_won_count"]) == (1, 1000.0, 0)
    # O3 has no CRM campaign; Sara's last tagged tweet before it is Summer Promo
    assert (summer["social_won_count"], summer["social_revenue"], summer["direct_won_count"]) == (1, 300.0, 0)
    assert (news["won_opportunity_count"], news["revenue"]) == (1, 70.0)  # O6, no person needed
    assert sum(c["revenue"] for c in campaigns.values()) == 1370.0  # O1 + O3 + O6, nothing twice


def test_campaign_revenue_matches_campaigns_across_sources_by_name(marts: Warehouse) -> None:
    campaigns = by(marts.query("SELECT * FROM mart.campaign_revenue"), "campaign_key")
    spring = campaigns["spring sale"]
    assert (spring["campaign_name"], spring["sources"], spring["channels"]) == (
        "Spring Sale",
        "hootsuite,salesforce",
        "social",
    )
    assert spring["started_at"] == ts("2025-01-15") and spring["social_interaction_count"] == 2  # t0, t1
    summer = campaigns["summer promo"]  # a social tag without a campaign record still gets its revenue
    assert (summer["campaign_name"], summer["social_interaction_count"]) == ("Summer Promo", 2)
    assert pd.isna(summer["sources"])


def test_marketing_suppression_lists_open_complaints_and_recent_cases_with_reason(marts: Warehouse) -> None:
    suppressed = marts.query(
        "SELECT golden_id, email, reason, open_complaint_count, recent_case_count, suppression_days "
        "FROM mart.marketing_suppression ORDER BY golden_id"
    )
    assert suppressed.values.tolist() == [
        ["G1", "g1@example.nl", "open_complaint", 1, 0, 90],  # C3 is old but open
        ["G4", "g4@example.nl", "recent_service_case", 0, 1, 90],  # C7 ten days ago; C6 is deleted
    ]  # G2's only case is old and closed; deleted G3 is never listed


def test_configured_windows_are_templated_into_the_views(
    marts: Warehouse, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "marts.yaml"
    config.write_text("settings:\n  social_lookback_days: 10\n  suppression_days: 5\n", encoding="utf-8")
    monkeypatch.setenv("CRMHUB_MARTS_CONFIG", str(config))
    marts.migrate()
    suppressed = marts.query("SELECT golden_id, suppression_days FROM mart.marketing_suppression")
    assert suppressed.values.tolist() == [["G1", 5]]  # G4's case ten days ago is now outside the window
    o1 = rows(marts, "SELECT * FROM mart.social_to_opportunity WHERE source_id = 'O1'")[0]
    assert (o1["social_interaction_count"], o1["lookback_days"]) == (2, 10)  # t2, t3


def test_migrating_again_keeps_the_marts_and_their_answers(marts: Warehouse) -> None:
    marts_tables = [
        "customer_360",
        "interaction_timeline",
        "social_to_opportunity",
        "service_questions",
        "campaign_revenue",
        "marketing_suppression",
    ]

    def answers() -> dict[str, list[str]]:  # a view promises no row order: compare rows as sorted text
        return {t: sorted(map(str, marts.query(f"SELECT * FROM mart.{t}").to_dict("records"))) for t in marts_tables}

    before = answers()
    marts.migrate()
    assert answers() == before


def test_a_setting_that_is_not_a_whole_number_is_refused_naming_file_and_key(tmp_path) -> None:
    config = tmp_path / "marts.yaml"
    config.write_text("settings:\n  suppression_days: '90; DROP TABLE core.cases'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        sqlfiles.load_mart_settings(config)
    assert (err.value.file, err.value.key) == (str(config), "settings.suppression_days")
    assert "whole number" in err.value.reason


def test_a_template_naming_an_unconfigured_value_is_refused_naming_file_and_key(tmp_path) -> None:
    ddl = tmp_path / "199_mart_x.sql"
    with pytest.raises(ConfigError) as err:
        sqlfiles.render("SELECT {{ lookback_weeks }} AS w;", {"suppression_days": 90}, ddl)
    assert (err.value.file, err.value.key) == (str(ddl), "lookback_weeks")


def test_a_bad_settings_file_fails_the_migrate_before_any_ddl_runs(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "marts.yaml"
    config.write_text("settings:\n  suppression_days: 0\n", encoding="utf-8")
    monkeypatch.setenv("CRMHUB_MARTS_CONFIG", str(config))
    with Warehouse.from_url(f"duckdb://{tmp_path / 'w.duckdb'}") as wh:
        with pytest.raises(ConfigError, match=r"marts\.yaml: settings\.suppression_days: must be between"):
            wh.migrate()
        assert wh.query("SELECT count(*) AS n FROM duckdb_views() WHERE schema_name = 'mart'")["n"][0] == 0
