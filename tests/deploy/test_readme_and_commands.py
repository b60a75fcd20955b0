"""README's reconcile columns follow the model; `crmhub ui` stays local; `dictionary --check` stands alone."""

from __future__ import annotations

import re
import subprocess
import sys

from crmhub.model import CONTACT_COLUMNS
from crmhub.paths import PACKAGE_DIR, PROJECT_DIR


def _model_required() -> list[str]:
    """CONTACT_COLUMNS entries commented ``# required`` in crmhub/model.py."""
    source = (PACKAGE_DIR / "model.py").read_text(encoding="utf-8")
    block = source.split("CONTACT_COLUMNS: list[str] = [", 1)[1].split("\n]", 1)[0]
    return re.findall(r'"(\w+)",\s*#\s*required', block)


def test_readme_reconcile_columns_are_the_model_columns():
    text = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("## Reconcile without Airflow", 1)[1].split("\n## ", 1)[0]
    listing = re.search(r"\):\n`([^`]+)`\.", section)
    assert listing, "README: the column list after '(`crmhub.model.CONTACT_COLUMNS`...):' is missing"
    columns = [c.strip() for c in listing.group(1).split(",")]
    expected = ", ".join(CONTACT_COLUMNS)
    assert columns == CONTACT_COLUMNS, f"README reconcile columns out of date; write: `{expected}`"
    required = re.search(r"only (`\w+`(?:,\s*`\w+`)*)\s+need a value", section.replace("\n", " "))
    assert required and re.findall(r"`(\w+)`", required.group(1)) == _model_required()
    assert _model_required() == ["source", "source_id", "source_updated_at"]


def test_reconcile_doc_names_the_same_required_columns():
    from crmhub.reconcile.files import REQUIRED_COLUMNS

    text = (PROJECT_DIR / "docs" / "reconcile.md").read_text(encoding="utf-8")
    assert f"only {', '.join(f'`{c}`' for c in REQUIRED_COLUMNS)} are required" in text


def test_ui_binds_loopback_unless_told_otherwise():
    from crmhub.cli import build_parser

    assert build_parser().parse_args(["ui"]).host == "127.0.0.1"
    assert build_parser().parse_args(["ui", "--host", "0.0.0.0"]).host == "0.0.0.0"
    make = subprocess.run(["make", "-n", "ui"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert "crmhub ui --host 127.0.0.1" in make.stdout
    source = (PROJECT_DIR / "tools" / "crmhub_dev" / "dev_commands.py").read_text(encoding="utf-8")
    assert '"AIRFLOW__API__HOST": args.host' in source  # what `airflow standalone`'s api-server binds


def test_dictionary_check_needs_no_out(tmp_path):
    """`--check` alone compares against the committed docs/data_dictionary.md (no usage error)."""
    run = [sys.executable, "-m", "crmhub", "dictionary", "--check"]
    alone = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert "usage:" not in alone.stderr and alone.returncode in (0, 1), alone.stderr
    assert str(PROJECT_DIR / "docs" / "data_dictionary.md") in alone.stdout
    stale = tmp_path / "dictionary.md"
    stale.write_text("# old\n", encoding="utf-8")
    out = subprocess.run([*run, "--out", str(stale)], capture_output=True, text=True, timeout=600)
    assert out.returncode == 1 and "out of date" in out.stdout
