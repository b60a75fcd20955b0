"""The hub on a distributed Airflow, as in production but on one machine.

CeleryExecutor (local Redis broker, PostgreSQL metadata DB, a PostgreSQL warehouse), every service a
separate process. The scheduler runs the ingest DAGs from their schedule, their Assets trigger the
reconcile DAG; a failing task and a missed freshness deadline must reach the alert webhook; every
task log is scanned for personal data; the UI is checked in headless Chromium. Everything started
here is stopped here, also when a test fails.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from headless_chromium import headless_chromium

from crmhub.config import load_sources
from crmhub.paths import PROJECT_DIR
from crmhub_dev.localrun import local_airflow, sandbox_connections

from .conftest import new_sandbox
from .helpers import alerts_connection, sandbox_personal_values, webhook_server
from .stack import AirflowStack, celery_env

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

PG_ADMIN = "postgres@127.0.0.1:5432"
BROKER = "redis://127.0.0.1:6379/0"
ARTIFACTS = PROJECT_DIR / "artifacts" / "ui"
INGEST = [f"crmhub_ingest_{name}" for name in load_sources()]
HUB_DAGS = [*INGEST, "crmhub_reconcile", "crmhub_gdpr_erasure", "crmhub_retention"]


@dataclass
class Deployment:
    stack: AirflowStack
    alerts: list[dict[str, Any]]
    ground_truth: dict[str, Any]
    warehouse_url: str


def _database(name: str) -> str:
    with psycopg.connect(f"postgresql://{PG_ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{PG_ADMIN}/{name}"


def _drop(name: str) -> None:
    with psycopg.connect(f"postgresql://{PG_ADMIN}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[Deployment]:
    home = tmp_path_factory.mktemp("celery-home")
    suffix = uuid.uuid4().hex[:8]
    names = [f"crmhub_meta_{suffix}", f"crmhub_wh_{suffix}"]
    metadata_db, warehouse_db = (_database(n) for n in names)
    stack = None
    try:
        with new_sandbox() as sandbox, webhook_server() as (hook_url, alerts):
            airflow = local_airflow(
                home,
                connections=sandbox_connections(sandbox),
                warehouse_url=f"postgresql://{warehouse_db}",
                data_dir=home / "data",
                extra_env={
                    **celery_env(metadata_db, BROKER),
                    "CRMHUB_RETRIES": "0",
                    "CRMHUB_FRESHNESS_MINUTES": "0.05",  # 3 s: a reconcile run takes longer, so it is missed
                    "AIRFLOW_CONN_CRMHUB_ALERTS": alerts_connection(hook_url),
                },
            )
            airflow.migrate()
            airflow.import_pools(load_sources())
            stack = AirflowStack(airflow, metadata_db, home / "service-logs")
            stack.start()
            stack.wait_for(
                "the dag-processor to serialize every hub DAG",
                lambda: set(HUB_DAGS) <= {r[0] for r in stack.query("SELECT dag_id FROM serialized_dag")},
                timeout=180,
            )
            airflow.run(
                "dags", "unpause", "-y", "--treat-dag-id-as-regex", "^crmhub_(ingest_.*|reconcile|gdpr_erasure)$"
            )
            airflow.run("dags", "trigger", "crmhub_gdpr_erasure")  # no identifier given: its task must fail
            yield Deployment(stack, alerts, sandbox.ground_truth, f"postgresql://{warehouse_db}")
    finally:
        if stack is not None:
            stack.stop()
        for name in names:
            _drop(name)


def _states(stack: AirflowStack, dag_id: str) -> set[str]:
    return {state for _, state in stack.runs(dag_id)}


def test_ingest_and_reconcile_succeed_on_celery_workers(deployment):
    stack = deployment.stack
    for dag_id in INGEST:
        stack.wait_for(f"{dag_id} to succeed", lambda d=dag_id: "success" in _states(stack, d), timeout=300)
    stack.wait_for(
        "crmhub_reconcile (Asset-triggered) to succeed",
        lambda: "success" in _states(stack, "crmhub_reconcile"),
        timeout=300,
    )
    assert "failed" not in _states(stack, "crmhub_reconcile")
    hosts = stack.query("SELECT DISTINCT hostname, queue FROM task_instance WHERE dag_id = 'crmhub_reconcile'")
    assert hosts and all(queue == stack.airflow.env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] for _, queue in hosts)
    import psycopg as pg

    def golden() -> int:
        with pg.connect(deployment.warehouse_url) as conn:
            return conn.execute("SELECT count(*) FROM core.golden_contacts WHERE is_current").fetchone()[0]

    # reconcile runs on every Asset update: an early run may see only the first objects (campaigns)
    stack.wait_for("a reconcile run with contacts loaded", lambda: golden() > 0, timeout=300)
    assert "failed" not in _states(stack, "crmhub_reconcile")


def _alert(deployment, kind: str, dag_id: str) -> dict[str, Any] | None:
    return next(
        (a["body"] for a in deployment.alerts if a["body"].get("kind") == kind and a["body"].get("dag_id") == dag_id),
        None,
    )


def test_a_failed_task_notifies_with_dag_task_run_try_and_log_link(deployment):
    alert = deployment.stack.wait_for(
        "the failure alert", lambda: _alert(deployment, "task_failed", "crmhub_gdpr_erasure"), timeout=300
    )
    (run_id, _), *_ = deployment.stack.runs("crmhub_gdpr_erasure")
    assert alert["task_id"] == "erase_from_hub" and alert["run_id"] == run_id
    assert alert["try_number"] == 1 and alert["error_type"] == "RequestError"
    assert alert["log_url"].startswith(deployment.stack.api_url + "/dags/crmhub_gdpr_erasure/runs/")


def test_a_missed_freshness_deadline_notifies(deployment):
    alert = deployment.stack.wait_for(
        "the deadline alert", lambda: _alert(deployment, "deadline_missed", "crmhub_reconcile"), timeout=300
    )
    run_ids = {run_id for run_id, _ in deployment.stack.runs("crmhub_reconcile")}
    assert alert["run_id"] in run_ids and alert["deadline"]
    assert alert["log_url"].startswith(deployment.stack.api_url + "/dags/crmhub_reconcile/runs/")


def test_alerts_carry_no_personal_data(deployment):
    test_a_missed_freshness_deadline_notifies(deployment)
    text = json.dumps(deployment.alerts, ensure_ascii=False)
    assert [v for v in sandbox_personal_values(deployment.ground_truth) if v in text] == []


def test_every_task_log_is_free_of_personal_data(deployment):
    stack = deployment.stack
    stack.wait_for("crmhub_reconcile to finish", lambda: "success" in _states(stack, "crmhub_reconcile"), timeout=300)
    logs = sorted((Path(stack.airflow.env["AIRFLOW_HOME"]) / "logs").rglob("*.log"))
    task_logs = [p for p in logs if "dag_id=" in str(p)]
    assert {d for d in HUB_DAGS[:3] if any(f"dag_id={d}" in str(p) for p in task_logs)} == set(HUB_DAGS[:3])
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in task_logs)
    assert "records" in text  # progress lines: pages, records, rate
    assert [v for v in sandbox_personal_values(deployment.ground_truth) if v in text] == []


# -- the UI, in a real browser -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with headless_chromium(
        tmp_path_factory.mktemp("chromium-profile"), "--disable-quic", "--window-size=1600,1000"
    ) as driver:
        yield driver


def _page_text(driver: Any, url: str, must_contain: list[str], shot: str, timeout: float = 60) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    try:
        WebDriverWait(driver, timeout).until(
            lambda d: all(s in d.find_element(By.TAG_NAME, "body").text for s in must_contain)
        )
    finally:
        driver.save_screenshot(str(ARTIFACTS / f"{shot}.png"))
    return driver.find_element(By.TAG_NAME, "body").text


def test_ui_lists_every_hub_dag_without_import_errors(deployment, browser):
    text = _page_text(browser, f"{deployment.stack.api_url}/dags?tags=crmhub", HUB_DAGS, "dags_list")
    assert "import error" not in text.lower()
    assert deployment.stack.query("SELECT count(*) FROM import_error")[0][0] == 0


def test_ui_renders_every_hub_dag_doc(deployment, browser):
    from airflow.dag_processing.dagbag import DagBag
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    docs = {dag_id: dag.doc_md for dag_id, dag in DagBag(dag_folder=str(PROJECT_DIR / "dags")).dags.items()}
    for dag_id in HUB_DAGS:
        heading = docs[dag_id].splitlines()[0].removeprefix("### ").replace("`", "")
        _page_text(browser, f"{deployment.stack.api_url}/dags/{dag_id}", [dag_id], f"dag_{dag_id}")
        button = WebDriverWait(browser, 30).until(  # the book icon in the DAG header
            lambda d: next(
                (b for b in d.find_elements(By.TAG_NAME, "button") if b.get_attribute("aria-label") == "Dag Docs"), None
            )
        )
        button.click()
        rendered = WebDriverWait(browser, 30).until(
            lambda d, h=heading: next((e for e in d.find_elements(By.TAG_NAME, "h3") if e.text == h), None)
        )
        browser.save_screenshot(str(ARTIFACTS / f"doc_{dag_id}.png"))
        assert rendered.text == heading  # markdown rendered as a heading, not "### ..."
        assert "**" not in browser.find_element(By.TAG_NAME, "body").text, dag_id


def test_ui_shows_the_asset_dependency_from_ingest_to_reconcile(deployment, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    asset = "crmhub_raw_hubspot_contacts"
    _page_text(browser, f"{deployment.stack.api_url}/assets", [asset], "assets")
    browser.find_element(By.LINK_TEXT, asset).click()
    # the asset's graph: the producing ingest DAG's task → the asset → the consuming reconcile DAG
    WebDriverWait(browser, 60).until(
        lambda d: all(
            s in d.find_element(By.TAG_NAME, "body").text for s in ("crmhub_ingest_hubspot", "crmhub_reconcile")
        )
    )
    browser.save_screenshot(str(ARTIFACTS / "asset_dependency.png"))
