from __future__ import annotations

import pandas as pd

from crmhub.model import XREF_COLUMNS
from crmhub.reconcile import reconcile
from crmhub.reconcile.golden_ids import assign_golden_ids, new_golden_id


def _records(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["source", "source_id", "cluster"])


def _xref(*rows: tuple[str, str, str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["source", "source_id", "golden_id"])
    return frame.assign(match_rule="email", match_key=None)[XREF_COLUMNS]


def test_new_cluster_id_derives_from_its_smallest_record() -> None:
    ids, log = assign_golden_ids(_records(("hubspot", "2", 0), ("hootsuite", "9", 0)))
    assert ids.tolist() == [new_golden_id("hootsuite", "9")] * 2
    assert ids.iloc[0].startswith("G") and len(ids.iloc[0]) == 17
    assert log == []


def test_cluster_keeps_previous_id_when_a_smaller_record_joins() -> None:
    previous = _xref(("hubspot", "5", "GOLD5"))
    ids, _ = assign_golden_ids(_records(("hubspot", "5", 0), ("hubspot", "1", 0)), previous)
    assert ids.tolist() == ["GOLD5", "GOLD5"]


def test_merge_keeps_the_id_with_most_records_and_logs_the_other() -> None:
    previous = _xref(("s", "a", "GB"), ("s", "b", "GB"), ("s", "c", "GA"))
    ids, log = assign_golden_ids(_records(("s", "a", 0), ("s", "b", 0), ("s", "c", 0)), previous)
    assert set(ids) == {"GB"}
    assert log == [{"event": "merge", "from_golden_id": "GA", "into_golden_id": "GB", "records": 1}]


def test_merge_tie_goes_to_the_smallest_id() -> None:
    previous = _xref(("s", "a", "GZ"), ("s", "b", "GA"))
    ids, _ = assign_golden_ids(_records(("s", "a", 0), ("s", "b", 0)), previous)
    assert set(ids) == {"GA"}


def test_split_keeps_id_on_one_side_and_gives_the_other_a_new_one() -> None:
    previous = _xref(("s", "a", "GX"), ("s", "b", "GX"), ("s", "c", "GX"))
    ids, log = assign_golden_ids(_records(("s", "a", 0), ("s", "b", 0), ("s", "c", 1)), previous)
    assert ids.tolist()[:2] == ["GX", "GX"]
    assert ids.iloc[2] == new_golden_id("s", "c")
    assert log == [{"event": "split", "golden_id": "GX", "new_golden_id": ids.iloc[2], "records": 1}]


def test_new_id_never_reuses_an_id_that_belonged_to_someone_else() -> None:
    taken = new_golden_id("s", "a")
    previous = _xref(("s", "z", taken))  # "z" held a's hash id (e.g. a was deleted earlier)
    ids, _ = assign_golden_ids(_records(("s", "a", 0), ("s", "z", 1)), previous)
    assert ids.tolist()[1] == taken
    assert ids.tolist()[0] not in {taken}


def test_golden_ids_stable_across_runs_when_a_record_changes(contacts, contact, default_rules) -> None:
    first = contacts(
        contact("hubspot", "h1", email="jan@example.nl", phone="0612345678"),
        contact("hootsuite", "t1", email="jan@example.nl"),
        contact("hubspot", "h2", email="piet@example.nl"),
    )
    run1 = reconcile(first, default_rules)
    changed = first.copy()
    changed.loc[0, "phone"] = "0687654321"
    changed.loc[0, "source_updated_at"] = pd.Timestamp("2024-06-01", tz="UTC")
    run2 = reconcile(changed, default_rules, run1.xref)
    assert run2.xref.set_index(["source", "source_id"])["golden_id"].to_dict() == (
        run1.xref.set_index(["source", "source_id"])["golden_id"].to_dict()
    )
    assert run2.golden.loc[run2.golden["phone"].notna(), "phone"].tolist() == ["+31687654321"]


def test_golden_id_stable_when_a_new_record_joins_the_cluster(contacts, contact, default_rules) -> None:
    run1 = reconcile(contacts(contact("hubspot", "h5", email="jan@example.nl")), default_rules)
    old_id = run1.golden["golden_id"].item()
    run2 = reconcile(
        contacts(
            contact("hubspot", "h5", email="jan@example.nl"),
            contact("hootsuite", "a0", email="Jan@Example.nl"),  # sorts before h5
        ),
        default_rules,
        run1.xref,
    )
    assert run2.golden["golden_id"].tolist() == [old_id]
    assert set(run2.xref["golden_id"]) == {old_id}


def test_same_input_gives_same_ids_without_history(contacts, contact, default_rules) -> None:
    frame = contacts(contact("hubspot", "h1", email="a@x.nl"), contact("hootsuite", "t1", email="a@x.nl"))
    assert reconcile(frame, default_rules).xref.equals(reconcile(frame.iloc[::-1], default_rules).xref)
