"""Quality results storage and the "anything landed yet?" check, on both engines."""

from __future__ import annotations

import pandas as pd
from wh_helpers import raw_record, ts

from crmhub.warehouse import Warehouse


def quality_rows(run_id: str, stage: str, successes: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "stage": stage,
                "suite": f"{stage}@1",
                "expectation": f"expect_{i}",
                "column_name": "golden_id",
                "severity": "blocking",
                "success": ok,
                "observed_value": "0 of 3 unexpected",
                "unexpected_count": 0 if ok else 2,
                "element_count": 3,
                "validated_at": ts("2026-11-01T10:00:00"),
            }
            for i, ok in enumerate(successes)
        ]
    )


def test_has_raw_is_false_until_something_of_that_object_lands(wh: Warehouse) -> None:
    assert not wh.has_raw("hubspot", "contacts")
    wh.land_raw(pd.DataFrame([raw_record("1", "2025-01-01", {"a": 1})]))
    landed = wh.query("SELECT source, object_type FROM raw.payloads").iloc[0]
    assert wh.has_raw(landed["source"], landed["object_type"])
    assert not wh.has_raw(landed["source"], "some_other_object")


def test_quality_results_are_stored_with_counts(wh: Warehouse) -> None:
    assert wh.store_quality_results(quality_rows("r1", "golden_contacts", [True, False])) == 2
    stored = wh.query("SELECT success, unexpected_count FROM audit.quality_results ORDER BY expectation")
    assert stored["success"].tolist() == [True, False]
    assert stored["unexpected_count"].tolist() == [0, 2]


def test_revalidating_a_run_replaces_its_results_for_that_stage_only(wh: Warehouse) -> None:
    wh.store_quality_results(quality_rows("r1", "golden_contacts", [True, False]))
    wh.store_quality_results(quality_rows("r1", "interactions", [True]))
    wh.store_quality_results(quality_rows("r1", "golden_contacts", [True, True]))
    counts = wh.query("SELECT stage, COUNT(*) AS n FROM audit.quality_results GROUP BY stage ORDER BY stage")
    assert dict(zip(counts["stage"], counts["n"], strict=True)) == {"golden_contacts": 2, "interactions": 1}
    assert wh.query("SELECT COUNT(*) AS n FROM audit.quality_results WHERE NOT success")["n"].iloc[0] == 0
