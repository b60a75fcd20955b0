"""The data dictionary: generated from the catalog, complete, and committed up to date."""

from __future__ import annotations

import psycopg
import pytest
from conftest import SCHEMAS

from crmhub.cli import main
from crmhub.paths import PROJECT_DIR
from crmhub.warehouse import Warehouse
from crmhub.warehouse.dictionary import COMMAND, DictionaryError, generate, generate_from_ddl, read_marts, undocumented

COMMITTED = PROJECT_DIR / "docs" / "data_dictionary.md"


def test_the_committed_dictionary_is_up_to_date(tmp_path) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == generate_from_ddl(tmp_path), f"regenerate it: {COMMAND}"


def test_every_mart_view_and_column_has_a_description(wh: Warehouse) -> None:
    docs = read_marts(wh)
    assert {v.name for v in docs} >= {"mart.customer_360", "mart.campaign_revenue", "mart.marketing_suppression"}
    assert undocumented(docs) == []


@pytest.mark.postgres
def test_both_engines_give_the_same_dictionary(tmp_path, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS {} CASCADE".format(", ".join(SCHEMAS)))
    with Warehouse.from_url(pg_url) as pg:
        pg.migrate()
        assert generate(pg) == generate_from_ddl(tmp_path)


def test_an_undocumented_mart_column_fails_the_generation(wh: Warehouse) -> None:
    wh.engine.execute("CREATE VIEW mart.zz_draft AS SELECT 1 AS answer, 2 AS other")
    wh.engine.execute("COMMENT ON VIEW mart.zz_draft IS 'A draft.'")
    wh.engine.execute("COMMENT ON COLUMN mart.zz_draft.answer IS 'The answer.'")
    assert undocumented(read_marts(wh)) == ["mart.zz_draft.other"]
    with pytest.raises(DictionaryError, match=r"mart\.zz_draft\.other"):
        generate(wh)


def test_the_command_writes_the_dictionary_and_checks_it(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "docs" / "data_dictionary.md"
    assert main(["dictionary", "--out", str(out), "--check"]) == 1
    assert main(["dictionary", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")
    assert main(["dictionary", "--out", str(out), "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
