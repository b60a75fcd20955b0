"""Working the review queue in the warehouse (issue 16), on DuckDB and PostgreSQL: a pair with both
records' values, decisions with who and when, defer, the activity audit and a CSV of decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from crmhub.model import CONTACT_COLUMNS, REVIEW_COLUMNS, conform
from crmhub.warehouse import steward
from crmhub.warehouse.steward import StewardError

AT = datetime(2026, 1, 1, tzinfo=UTC)
LEFT, RIGHT = ("hubspot", "h1"), ("salesforce", "0031")


def _queue() -> pd.DataFrame:
    row = {
        "left_source": LEFT[0],
        "left_source_id": LEFT[1],
        "left_golden_id": "G1",
        "right_source": RIGHT[0],
        "right_source_id": RIGHT[1],
        "right_golden_id": "G2",
        "score": 7.25,
        "reason": "review_band",
        "rule": "fuzzy",
        "explanation": "last_name=exact(+4.1) first_name=initial(+1.2) email=missing(0)",
    }
    return pd.DataFrame([row], columns=REVIEW_COLUMNS)


def _records() -> pd.DataFrame:
    rows = [
        {"source": LEFT[0], "source_id": LEFT[1], "first_name": "Jan", "last_name": "de Vries",
         "email": "jan@example.nl", "city": "Amsterdam", "source_updated_at": pd.Timestamp("2025-01-01", tz="UTC")},
        {"source": RIGHT[0], "source_id": RIGHT[1], "first_name": "J.", "last_name": "de Vries",
         "phone": "+31612345678", "city": "Amsterdam", "source_updated_at": pd.Timestamp("2025-02-01", tz="UTC")},
    ]  # fmt: skip
    return conform(pd.DataFrame(rows), CONTACT_COLUMNS)


def test_a_pair_shows_both_records_values_score_and_explanation(wh) -> None:
    wh.store_steward_run("run-1", _queue(), [], at=AT)
    pair = steward.review_pair(wh.engine, RIGHT, LEFT, records=_records())  # either order finds it
    assert pair["queue"]["run_id"] == "run-1" and float(pair["queue"]["score"]) == 7.25
    assert "last_name=exact" in pair["queue"]["explanation"]
    assert (pair["left"]["first_name"], pair["left"]["email"]) == ("J.", None)  # the side asked for first
    assert (pair["right"]["first_name"], pair["right"]["email"]) == ("Jan", "jan@example.nl")
    assert pair["left"]["values_from"] == "source record" and pair["decisions"].empty


def test_without_the_run_files_a_side_shows_its_golden_record_marked_as_such(wh) -> None:
    wh.store_steward_run("run-1", _queue(), [], at=AT)
    pair = steward.review_pair(wh.engine, LEFT, RIGHT, records=None)
    assert pair["left"]["values_from"] == "not found" and pair["left"]["first_name"] is None


def test_a_decision_is_stored_with_who_and_when_and_is_in_force(wh) -> None:
    wh.store_steward_run("run-1", _queue(), [], at=AT)
    wh.record_decision(LEFT, RIGHT, "link", "anna", decided_at=AT)
    steward.log_activity(wh.engine, "anna", "link", LEFT, RIGHT)
    history = steward.decision_history(wh.engine)
    assert list(history[["decision", "decided_by"]].itertuples(index=False, name=None)) == [("link", "anna")]
    assert pd.Timestamp(history.loc[0, "decided_at"]) == pd.Timestamp(AT)
    assert steward.review_pair(wh.engine, LEFT, RIGHT)["decisions"].loc[0, "decided_by"] == "anna"
    assert wh.steward_decisions().loc[0, "decision"] == "link"


def test_defer_leaves_no_decision_but_marks_the_pair_and_the_audit(wh) -> None:
    wh.store_steward_run("run-1", _queue(), [], at=AT)
    steward.defer(wh.engine, RIGHT, LEFT, "bram", "ask the account manager")
    assert wh.steward_decisions().empty
    queue = steward.review_pairs(wh.engine)
    assert queue.loc[0, "deferred_by"] == "bram" and queue.loc[0, "deferred_at"] is not None


def test_the_audit_says_who_saw_and_decided_what_newest_first(wh) -> None:
    steward.log_activity(wh.engine, "anna", "view_pair", LEFT, RIGHT, at=AT)
    steward.log_activity(wh.engine, "anna", "split", LEFT, RIGHT, at=datetime(2026, 1, 2, tzinfo=UTC))
    steward.log_activity(wh.engine, "eve", "denied", detail="role viewer", at=datetime(2026, 1, 3, tzinfo=UTC))
    audit = steward.activity(wh.engine)
    assert list(audit[["actor", "action"]].itertuples(index=False, name=None)) == [
        ("eve", "denied"),
        ("anna", "split"),
        ("anna", "view_pair"),
    ]
    assert audit.loc[2, "left_source_id"] == "h1"
    with pytest.raises(StewardError):
        steward.log_activity(wh.engine, "anna", "peek")
    with pytest.raises(StewardError):
        steward.log_activity(wh.engine, " ", "view_queue")


def test_a_csv_of_decisions_lands_in_the_warehouse(wh) -> None:
    frame = pd.DataFrame(
        {
            "left_source": ["hubspot", "hubspot"],
            "left_source_id": ["h1", "h3"],
            "right_source": ["salesforce", "hubspot"],
            "right_source_id": ["0031", "h4"],
            "decision": ["link", "split"],
            "decided_by": ["carla", None],
            "decided_at": ["2026-01-05T10:00:00Z", None],
        }
    )
    assert steward.import_decisions(wh.engine, frame, "ops-import") == 2
    history = steward.decision_history(wh.engine).set_index("left_source_id")
    assert history.loc["h1", "decided_by"] == "carla" and history.loc["h3", "decided_by"] == "ops-import"
    assert set(wh.steward_decisions()["decision"]) == {"link", "split"}
    assert steward.activity(wh.engine).loc[0, "action"] == "import"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"decision": "merge"}, "line 2: decision must be one of"),
        ({"left_source_id": ""}, "line 2: left_source"),
        ({"right_source": "hubspot", "right_source_id": "h1"}, "paired with itself"),
        ({"decided_at": "yesterday-ish"}, "decided_at"),
    ],
)
def test_a_bad_row_fails_the_whole_file_naming_its_line(wh, change, message) -> None:
    row = {"left_source": "hubspot", "left_source_id": "h1", "right_source": "salesforce",
           "right_source_id": "0031", "decision": "link", "decided_at": None}  # fmt: skip
    good = dict(row, left_source_id="h9")
    frame = pd.DataFrame([dict(row, **change), good])
    with pytest.raises(StewardError, match=message):
        steward.import_decisions(wh.engine, frame, "ops-import")
    assert steward.decision_history(wh.engine).empty


def test_a_file_without_the_required_columns_is_refused(wh) -> None:
    with pytest.raises(StewardError, match="missing column"):
        steward.import_decisions(wh.engine, pd.DataFrame({"left_source": ["hubspot"]}), "ops-import")
