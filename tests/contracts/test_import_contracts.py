"""The allowed arrows between the hub's parts hold (``.importlinter``; picture in docs/architecture.md).

The contracts are checked with import-linter over the real import graph; the tests below also make
sure no part escapes them (every top-level part of ``crmhub`` is named in the Airflow contract) and
that the product never imports a DAG file.
"""

from __future__ import annotations

import ast
import configparser
import pkgutil
from pathlib import Path

import pytest

import crmhub

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".importlinter"


def contracts() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG, encoding="utf-8")
    return parser


def test_every_import_contract_is_kept(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from importlinter.cli import lint_imports

    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(config_filename=str(CONFIG), no_cache=True)
    report = capsys.readouterr().out
    assert exit_code == 0, report[report.find("Broken contracts") :]


def test_every_part_of_the_package_is_named_in_the_airflow_contract() -> None:
    named = set(contracts()["importlinter:contract:core-without-airflow"]["source_modules"].split())
    parts = {f"crmhub.{m.name}" for m in pkgutil.iter_modules(crmhub.__path__)} - {"crmhub.__main__"}
    assert parts - named == {"crmhub.orchestration"}


def test_the_product_never_imports_a_dag_file() -> None:
    dag_modules = {p.stem for p in (ROOT / "dags").glob("*.py")}
    offenders = []
    for path in (ROOT / "plugins" / "crmhub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in dag_modules]
    assert offenders == []
