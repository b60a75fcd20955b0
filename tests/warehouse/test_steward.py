"""Steward review tables on both engines: review queue, decisions in force, merge log and undo."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from crmhub.model import XREF_COLUMNS
from crmhub.reconcile.review import REVIEW_COLUMNS
from crmhub.warehouse import steward
from crmhub.warehouse.steward import StewardError

AT = datetime(2026, 1, 1, tzinfo=UTC)


def _review(*scores: float) -> pd.DataFrame:
    rows = [
        {
            "left_source": "hubspot",
            "left_source_id": f"h{i}",
            "left_golden_id": f"G{i}",
            "right_source": "hootsuite",
            "right_source_id": f"twitter:t{i}",
            "right_golden_id": f"T{i}",
            "score": score,
            "reason": "review_band",
            "rule": "fuzzy",
            "explanation": "name=exact(+9)",
        }
        for i, score in enumerate(scores)
    ]
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)


MERGE = {
    "event": "merge",
    "from_golden_id": "Gloser",
    "into_golden_id": "Gwinner",
    "records": 1,
    "rule": "email",
    "loser_records": [["hubspot", "h2"]],
}


def test_each_run_replaces_the_review_queue(wh) -> None:
    wh.store_steward_run("run-1", _review(6.0, 9.5), [], at=AT)
    wh.store_steward_run("run-2", _review(7.0), [], at=AT)
    queue = wh.review_queue()
    assert len(queue) == 1 and float(queue.loc[0, "score"]) == 7.0


def test_review_queue_lists_best_scores_first(wh) -> None:
    wh.store_steward_run("run-1", _review(6.0, 9.5), [], at=AT)
    assert [float(s) for s in wh.review_queue()["score"]] == [9.5, 6.0]


def test_latest_decision_on_a_pair_is_in_force_whatever_the_order(wh) -> None:
    wh.record_decision(("hubspot", "h1"), ("hubspot", "h2"), "link", "anna", decided_at=AT)
    later = datetime(2026, 2, 1, tzinfo=UTC)
    wh.record_decision(("hubspot", "h2"), ("hubspot", "h1"), "split", "bram", decided_at=later)
    (decision,) = wh.steward_decisions().itertuples()
    assert decision.decision == "split"


def test_decision_needs_a_steward_and_a_known_verb(wh) -> None:
    with pytest.raises(StewardError):
        wh.record_decision(("hubspot", "h1"), ("hubspot", "h2"), "merge", "anna")
    with pytest.raises(StewardError):
        wh.record_decision(("hubspot", "h1"), ("hubspot", "h2"), "link", " ")


def test_merges_are_logged_once_per_run(wh) -> None:
    wh.store_steward_run("run-1", _review(), [MERGE], at=AT)
    wh.store_steward_run("run-1", _review(), [MERGE], at=AT)
    (entry,) = wh.merge_log().itertuples()
    assert (entry.winner_golden_id, entry.loser_golden_id, entry.rule, bool(entry.undone)) == (
        "Gwinner",
        "Gloser",
        "email",
        False,
    )


def test_undo_marks_the_merge_and_records_restoring_splits(wh) -> None:
    wh.store_steward_run("run-1", _review(), [MERGE], at=AT)
    xref = pd.DataFrame(
        [["hubspot", "h1", "Gwinner", "email", None], ["hubspot", "h2", "Gwinner", "email", None]],
        columns=XREF_COLUMNS,
    )
    merge_id = wh.merge_log().loc[0, "merge_id"]
    assert steward.undo_merge(wh.engine, merge_id, "anna", current_xref=xref) == 1
    (decision,) = wh.steward_decisions().itertuples()
    assert (decision.left_source_id, decision.right_source_id, decision.decision, decision.restore_golden_id) == (
        "h2",
        "h1",
        "split",
        "Gloser",
    )
    assert bool(wh.merge_log().loc[0, "undone"])
    with pytest.raises(StewardError):
        wh.undo_merge(merge_id, "anna")
