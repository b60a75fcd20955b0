"""``python -m crmhub steward import-decisions FILE`` and ``steward queue``: decisions from a CSV into the
warehouse (the next reconcile run reads them from there), counts only on the console."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmhub.cli import main
from crmhub.warehouse import Warehouse, steward

CSV = """left_source,left_source_id,right_source,right_source_id,decision,restore_golden_id,decided_by
hubspot,h1,salesforce,0031,link,,carla
hubspot,h3,hubspot,h4,split,,
"""


def test_import_decisions_stores_them_with_who(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    file = tmp_path / "decisions.csv"
    file.write_text(CSV, encoding="utf-8")
    assert main(["steward", "--warehouse-url", url, "import-decisions", str(file), "--by", "ops"]) == 0
    out = capsys.readouterr().out
    assert "stored 2 steward decision(s)" in out and "h1" not in out
    with Warehouse.from_url(url) as wh:
        history = steward.decision_history(wh.engine).set_index("left_source_id")
        assert (history.loc["h1", "decided_by"], history.loc["h3", "decided_by"]) == ("carla", "ops")
        assert len(wh.steward_decisions()) == 2
        assert steward.activity(wh.engine).loc[0, "actor"] == "ops"
    assert main(["steward", "--warehouse-url", url, "queue"]) == 0
    assert "0 pair(s) in steward review: http" in capsys.readouterr().out


def test_a_bad_file_stores_nothing_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    file = tmp_path / "decisions.csv"
    file.write_text(CSV.replace(",split,", ",merge,"), encoding="utf-8")
    assert main(["steward", "--warehouse-url", url, "import-decisions", str(file)]) == 2
    assert "line 3: decision must be one of" in capsys.readouterr().err
    with Warehouse.from_url(url) as wh:
        assert steward.decision_history(wh.engine).empty
    assert main(["steward", "--warehouse-url", url, "import-decisions", str(tmp_path / "missing.csv")]) == 2
