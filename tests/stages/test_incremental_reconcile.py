"""A sequence of small (incremental) reconcile runs leaves the warehouse a full reconcile leaves.

Two warehouses of one engine get the same three runs through the real stage functions
(``match_and_survive`` then ``load``): one with a state directory (runs 2 and 3 reconcile only what
changed and what it touches), one without (every run reconciles every record). Every core table,
the review queue and the merge log must end up equal after each run.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from throwaway_pg import throwaway_database

from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, conform
from crmhub.reconcile.rules import load_rules
from crmhub.stages import reconcile_steps as stage
from crmhub.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "benchmarks" / "reconcile" / "rules.yaml"
COMPARED = (
    "core.golden_contacts",
    "core.contact_xref",
    "core.golden_lineage",
    "core.golden_conflicts",
    "core.interactions",
    "core.golden_merge_log",
    "core.review_queue",
    "core.interaction_understanding",
    "mart.customer_360",
)


#: Columns holding when or by which load a row was written (wall clock, sequences), not what it says.
CLOCK_COLUMNS = {
    "contact_sk",
    "xref_sk",
    "merge_id",
    "loaded_run_id",
    "loaded_at",
    "first_loaded_at",
    "merged_at",
    "undone_at",
}
#: The xref's validity is the load time (``xref_open.sql``), the golden history's the business time.
XREF_CLOCK = {"valid_from", "valid_to"}
#: A review pair an incremental run did not re-derive keeps the run that found it.
REVIEW_RUN = {"run_id"}


def _content(wh: Warehouse, table: str) -> pd.DataFrame:
    """``table``'s rows without clock columns, sorted, as text (engine-neutral)."""
    frame = wh.query(f"SELECT * FROM {table}")
    drop = CLOCK_COLUMNS | (XREF_CLOCK if table == "core.contact_xref" else set())
    drop |= REVIEW_RUN if table == "core.review_queue" else set()
    frame = frame.drop(columns=[c for c in frame.columns if c in drop])
    text = frame.astype(object).where(frame.notna(), None).astype(str)
    return text.sort_values(list(text.columns)).reset_index(drop=True)


def _generator():  # noqa: ANN202 - the reconcile benchmark's data generator, loaded from its file
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "benchmarks" / "reconcile" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module.generate


def _messages(contacts: pd.DataFrame, n: int, seed: int, prefix: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    social = contacts.loc[contacts["source"] == "social", "source_id"].to_numpy(dtype=object)
    frame = pd.DataFrame(
        {
            "source": "social",
            "source_id": [f"{prefix}{i}" for i in range(n)],
            "contact_source_id": social[rng.integers(0, len(social), n)],
            "occurred_at": pd.Timestamp("2026-02-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 9e5, n), unit="s"),
            "channel": "twitter",
            "direction": "inbound",
            "interaction_type": "mention",
            "text": rng.choice(["Waar blijft mijn pakket?", "Top service!", "Wat kost een abonnement?"], n),
            "thread_id": [f"t{prefix}{i % (n // 2 + 1)}" for i in range(n)],
        }
    )
    return conform(frame, INTERACTION_COLUMNS)


def _edit(contacts: pd.DataFrame, positions: list[int], tag: str) -> pd.DataFrame:
    """Edits a CRM day makes: new e-mail, a move, a new phone, a copied e-mail (a merge), a delete."""
    out = contacts.copy()
    later = out["source_updated_at"].max() + pd.Timedelta(hours=1)
    for j, pos in enumerate(positions):
        kind = j % 5
        if kind == 0:
            out.at[pos, "email"] = f"{tag}.{j}@example.org"
        elif kind == 1:
            out.at[pos, "address_line"], out.at[pos, "postcode"], out.at[pos, "city"] = "Gracht 1", "8011 AA", "Zwolle"
        elif kind == 2:
            out.at[pos, "phone"] = f"+3162{j:07d}"
        elif kind == 3:
            out.at[pos, "email"] = out.at[positions[0], "email"]
        else:
            out.at[pos, "is_deleted"] = True
        out.at[pos, "source_updated_at"] = later + pd.Timedelta(seconds=j)
    return out


def _runs() -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    people = conform(_generator()(900, "hard", 5).drop(columns="person_id"), CONTACT_COLUMNS)
    first = people.iloc[:700].reset_index(drop=True)
    messages = _messages(first, 120, 1, "m")
    second = pd.concat([_edit(first, list(range(3, 700, 23)), "a"), people.iloc[700:800]], ignore_index=True)
    second = second.drop(index=[10, 11]).reset_index(drop=True)  # records gone from the source
    messages2 = pd.concat([messages, _messages(second, 30, 2, "n")], ignore_index=True)
    messages2.loc[5, "text"] = "Nog steeds niets ontvangen!"  # an edited message
    third = pd.concat([_edit(second, list(range(7, 780, 31)), "b"), people.iloc[800:]], ignore_index=True)
    messages3 = pd.concat([messages2, _messages(third, 30, 3, "o")], ignore_index=True)
    return [(first, messages), (second, messages2), (third, messages3), (third, messages3)]  # and a rerun


def _run(
    wh: Warehouse, data: Path, run_id: str, contacts: pd.DataFrame, messages: pd.DataFrame, *, state: bool, rules: Path
) -> dict:
    files = stage.run_folder(data, run_id)
    files.write("contacts", contacts)
    files.write("interactions", messages)
    state_dir = stage.state_dir(data) if state else None
    summary = stage.match_and_survive(wh, files, run_id, rules=load_rules(rules), state_dir=state_dir)
    stage.load(wh, files, run_id, state_dir=state_dir)
    return summary


@pytest.fixture(params=["duckdb", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_warehouses(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Warehouse, Warehouse]]:
    """Two empty migrated warehouses of one engine: incremental and full."""
    if request.param == "duckdb":
        urls = [f"duckdb://{tmp_path / 'incremental.duckdb'}", f"duckdb://{tmp_path / 'full.duckdb'}"]
        with Warehouse.from_url(urls[0]) as a, Warehouse.from_url(urls[1]) as b:
            a.migrate(), b.migrate()
            yield a, b
        return
    with (
        throwaway_database("crmhub_incr_") as url_a,
        throwaway_database("crmhub_full_") as url_b,
        Warehouse.from_url(url_a) as a,
        Warehouse.from_url(url_b) as b,
    ):
        a.migrate(), b.migrate()
        yield a, b


def _compare_runs(incremental: Warehouse, full: Warehouse, data: Path, rules: Path) -> list[tuple[str, int | None]]:
    """Each run on both warehouses; asserts equal content after each; returns (mode, scope) per run."""
    modes = []
    for i, (contacts, messages) in enumerate(_runs(), start=1):
        summary = _run(incremental, data / "a", f"run-{i}", contacts, messages, state=True, rules=rules)
        _run(full, data / "b", f"run-{i}", contacts, messages, state=False, rules=rules)
        modes.append((summary["reconcile"]["mode"], summary["reconcile"].get("scope")))
        for table in COMPARED:
            pd.testing.assert_frame_equal(_content(incremental, table), _content(full, table), obj=f"run {i}: {table}")
    return modes


def test_small_runs_leave_the_warehouse_a_full_reconcile_leaves(two_warehouses, tmp_path: Path) -> None:
    modes = _compare_runs(*two_warehouses, tmp_path, RULES)
    assert [m for m, _ in modes] == ["full", "incremental", "incremental", "incremental"]
    assert all(scope < 800 for _, scope in modes[1:])
    assert modes[3][1] == 0  # nothing changed: nothing reconciled


def test_small_runs_apply_the_caps_over_all_records(two_warehouses, tmp_path: Path) -> None:
    """With tight caps many keys are shared by more records than allowed, mostly outside the scope."""
    text = RULES.read_text(encoding="utf-8").replace("max_records_per_key: 5", "max_records_per_key: 2")
    text = text.replace("fuzzy:\n", "fuzzy:\n    max_block_size: 3\n", 1)
    assert "max_block_size: 3" in text and "max_records_per_key: 2" in text
    rules = tmp_path / "tight_rules.yaml"
    rules.write_text(text, encoding="utf-8")
    modes = _compare_runs(*two_warehouses, tmp_path, rules)
    assert [m for m, _ in modes] == ["full", "incremental", "incremental", "incremental"]


def test_blocking_without_a_stable_key_form_runs_full(two_warehouses, tmp_path: Path) -> None:
    """A blocking key the scope module cannot follow turns the incremental path off, not wrong."""
    text = RULES.read_text(encoding="utf-8").replace(
        "fuzzy:\n", "fuzzy:\n    blocking: [name, first_name_last_initial]\n", 1
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    incremental, _ = two_warehouses
    (first, m1), (second, m2), *_ = _runs()
    _run(incremental, tmp_path, "run-1", first, m1, state=True, rules=rules)
    summary = _run(incremental, tmp_path, "run-2", second, m2, state=True, rules=rules)
    assert summary["reconcile"]["mode"] == "full"
    assert "first_name_last_initial" in summary["reconcile"]["reason"]


def test_the_golden_gate_passes_on_a_small_run(two_warehouses, tmp_path: Path) -> None:
    """A small run's files hold only its scope; new messages of people outside it still pass the
    gate's "golden contact exists" check (their golden contacts were loaded by earlier runs)."""
    incremental, _ = two_warehouses
    (first, m1), (second, m2), *_ = _runs()
    _run(incremental, tmp_path, "run-1", first, m1, state=True, rules=RULES)
    files = stage.run_folder(tmp_path, "run-2")
    files.write("contacts", second)
    files.write("interactions", m2)
    summary = stage.match_and_survive(
        incremental, files, "run-2", rules=load_rules(RULES), state_dir=tmp_path / "state"
    )
    assert summary["reconcile"]["mode"] == "incremental"
    assert stage.validate(None, files, "run-2")["failed_blocking"] == 0


def test_a_first_run_without_contacts_keeps_a_state_the_next_run_can_extend(two_warehouses, tmp_path: Path) -> None:
    """A reconcile started by a social source alone sees no contacts yet; its kept index must still
    type its columns (an empty text column is not of type NULL), so the next run extends it."""
    incremental, _ = two_warehouses
    (first, m1), *_ = _runs()
    _run(incremental, tmp_path, "run-1", first.iloc[0:0], m1.iloc[0:0], state=True, rules=RULES)
    _run(incremental, tmp_path, "run-2", first.iloc[0:0], m1.iloc[0:0], state=True, rules=RULES)
    summary = _run(incremental, tmp_path, "run-3", first, m1, state=True, rules=RULES)
    golden = incremental.query("SELECT count(DISTINCT golden_id) AS n FROM core.contact_xref")["n"].iloc[0]
    assert summary["reconcile"]["mode"] in ("full", "incremental") and golden > 0
