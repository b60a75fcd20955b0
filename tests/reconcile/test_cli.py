from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from crmhub import cli
from crmhub.model import CONTACT_COLUMNS, GOLDEN_COLUMNS, XREF_COLUMNS
from crmhub.paths import PROJECT_DIR


def _write_contacts(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows, columns=CONTACT_COLUMNS).to_csv(path, index=False)
    return path


ROWS = [
    {
        "source": "hubspot",
        "source_id": "001",
        "source_updated_at": "2024-01-02T10:00:00Z",
        "first_name": "Jan",
        "last_name": "van der Berg",
        "email": "Jan@Example.nl",
        "phone": "06-12345678",
        "address_line": "Kerkstraat 12a",
        "postcode": "1234ab",
        "city": "Amsterdam",
        "country": "Nederland",
        "is_deleted": "false",
    },
    {
        "source": "hootsuite",
        "source_id": "twitter:janvdb",
        "source_updated_at": "2024-01-03T10:00:00Z",
        "first_name": "Jan",
        "email": "jan@example.nl",
        "social_network": "twitter",
        "social_handle": "@JanVdB",
        "is_deleted": "false",
    },
    {
        "source": "hubspot",
        "source_id": "002",
        "source_updated_at": "2024-01-01T00:00:00Z",
        "first_name": "Piet",
        "email": "piet@example.nl",
        "is_deleted": "true",
    },
]


def test_cli_round_trip_writes_the_four_files(tmp_path: Path, capsys) -> None:
    src = _write_contacts(tmp_path / "contacts.csv", ROWS)
    out = tmp_path / "out"
    code = cli.main(
        [
            "reconcile",
            "--contacts",
            str(src),
            "--rules",
            str(PROJECT_DIR / "include/config/precedence.yaml"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    golden = pd.read_csv(out / "golden.csv", dtype=str)
    xref = pd.read_csv(out / "xref.csv", dtype={"source_id": str})
    assert list(golden.columns) == GOLDEN_COLUMNS and list(xref.columns) == XREF_COLUMNS
    assert len(golden) == 2 and len(xref) == 3
    assert "001" in set(xref["source_id"])  # ids stay text, leading zeros kept
    jan = golden[golden["email"] == "jan@example.nl"].iloc[0]
    assert (jan.name_prefix, jan.last_name, jan.postcode, jan.social_handle) == ("van der", "Berg", "1234 AB", "janvdb")
    assert {"lineage.csv", "conflicts.csv"} <= {p.name for p in out.iterdir()}
    printed = capsys.readouterr().out
    assert "3 source records" in printed and "2 golden records" in printed
    assert "example.nl" not in printed and "Jan" not in printed  # counts only


def test_cli_previous_xref_keeps_ids(tmp_path: Path) -> None:
    src = _write_contacts(tmp_path / "contacts.csv", ROWS[:1])
    assert cli.main(["reconcile", "--contacts", str(src), "--out", str(tmp_path / "run1")]) == 0
    both = _write_contacts(tmp_path / "both.csv", [{**ROWS[1], "source_id": "000"}, ROWS[0]])
    assert (
        cli.main(
            [
                "reconcile",
                "--contacts",
                str(both),
                "--previous-xref",
                str(tmp_path / "run1/xref.csv"),
                "--out",
                str(tmp_path / "run2"),
            ]
        )
        == 0
    )
    first = pd.read_csv(tmp_path / "run1/golden.csv")["golden_id"].tolist()
    assert pd.read_csv(tmp_path / "run2/golden.csv")["golden_id"].tolist() == first


def test_cli_reads_several_files_and_parquet(tmp_path: Path) -> None:
    csv = _write_contacts(tmp_path / "hubspot.csv", [ROWS[0]])
    parquet = tmp_path / "hootsuite.parquet"
    frame = pd.DataFrame([ROWS[1]], columns=CONTACT_COLUMNS).astype(object)
    frame["is_deleted"] = False
    frame.to_parquet(parquet)
    assert cli.main(["reconcile", "--contacts", str(csv), str(parquet), "--out", str(tmp_path / "out")]) == 0
    assert len(pd.read_csv(tmp_path / "out/golden.csv")) == 1


def test_cli_missing_required_column_names_file_and_column(tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.csv"
    pd.DataFrame([ROWS[0]]).drop(columns=["source_updated_at"]).to_csv(path, index=False)
    assert cli.main(["reconcile", "--contacts", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "source_updated_at" in err


def test_cli_runs_on_the_three_required_columns_plus_name_and_address(tmp_path: Path, capsys) -> None:
    # Only source, source_id, source_updated_at are required (docs/reconcile.md): no source_created_at,
    # name_prefix, company, is_deleted, merged_into_source_id or social_followers column.
    path = tmp_path / "minimal.csv"
    home = {"address_line": "12 Wallaby Place", "postcode": "2119", "city": "Cleveland"}
    rows = [
        {"source": "crm_a", "source_id": "1", "source_updated_at": "2024-01-01T00:00:00Z", "first_name": "Mitchell",
         "last_name": "Green", **home},
        {"source": "crm_b", "source_id": "9", "source_updated_at": "2024-02-01T00:00:00Z", "first_name": "Mitchell",
         "last_name": "Green", **home},
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\nsources: [crm_a, crm_b]\nattributes:\n"
        + "".join(f"  {g}: {{rule: most_recent}}\n" for g in ("name", "email", "phone", "address", "social", "company"))
    )
    out = tmp_path / "out"
    assert cli.main(["reconcile", "--contacts", str(path), "--rules", str(rules), "--out", str(out)]) == 0
    xref = pd.read_csv(out / "xref.csv", dtype=str)
    golden = pd.read_csv(out / "golden.csv", dtype=str)
    assert len(xref) == 2 and xref["golden_id"].nunique() == 1  # identical Australian records link
    assert len(golden) == 1 and golden.loc[0, "is_deleted"] == "False"


def test_cli_broken_rules_file_is_reported_with_key(tmp_path: Path, capsys) -> None:
    src = _write_contacts(tmp_path / "contacts.csv", ROWS)
    rules = tmp_path / "rules.yaml"
    rules.write_text("sources: [hubspot]\nattributes:\n  email: {rule: newest}\n", encoding="utf-8")
    assert cli.main(["reconcile", "--contacts", str(src), "--rules", str(rules), "--out", str(tmp_path / "o")]) == 2
    assert "attributes" in capsys.readouterr().err


def test_python_dash_m_crmhub_runs_the_subcommand(tmp_path: Path) -> None:
    src = _write_contacts(tmp_path / "contacts.csv", ROWS)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_DIR / "plugins")}
    done = subprocess.run(
        [sys.executable, "-m", "crmhub", "reconcile", "--contacts", str(src), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/golden.csv").is_file()


def test_subcommands_come_from_the_registry() -> None:
    parser = cli.build_parser()
    assert {"reconcile", "dictionary", "bi-role", "messages", "airflow-init", "demo", "ui"} <= set(cli.COMMANDS)
    assert parser.parse_args(["reconcile", "--contacts", "a.csv", "--out", "o"]).command == "reconcile"


def test_cli_diff_rules_reports_what_a_rule_change_alters(tmp_path: Path) -> None:
    import yaml

    from crmhub.reconcile.rules import DEFAULT_RULES_FILE

    contacts = _write_contacts(tmp_path / "contacts.csv", ROWS)
    doc = yaml.safe_load(DEFAULT_RULES_FILE.read_text(encoding="utf-8"))
    doc["attributes"]["name"] = {"rule": "source_priority", "sources": ["hootsuite", "hubspot"]}
    new_rules = tmp_path / "new.yaml"
    new_rules.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = tmp_path / "out"
    args = ["reconcile", "--contacts", str(contacts), "--rules", str(new_rules)]
    code = cli.main([*args, "--diff-rules", str(DEFAULT_RULES_FILE), "--out", str(out)])
    assert code == 0
    diff = pd.read_csv(out / "rules_diff.csv")
    assert set(diff["kind"]) == {"value"} and "last_name" in set(diff["field"])
    assert (out / "review_queue.csv").exists()
