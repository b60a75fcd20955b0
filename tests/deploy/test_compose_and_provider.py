"""What can be checked of the deployment without a Docker engine: the compose file and the provider."""

from __future__ import annotations

import shlex

import pytest
import yaml

from crmhub.paths import PROJECT_DIR

COMPOSE = yaml.safe_load((PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = [name for name in SERVICES if name.startswith("airflow-")]
AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-worker": ["airflow", "celery", "worker"],
    "airflow-triggerer": ["airflow", "triggerer"],
}


def test_compose_has_the_distributed_airflow_stack():
    assert {"postgres", "redis", "warehouse-db", "sandbox", "airflow-init", *AIRFLOW_COMMANDS} <= set(SERVICES)


@pytest.mark.parametrize("service", AIRFLOW_COMMANDS)
def test_each_airflow_service_runs_its_airflow_3_command(service):
    assert SERVICES[service]["command"] == AIRFLOW_COMMANDS[service]


def test_every_airflow_service_shares_one_image_and_the_celery_settings():
    images = {SERVICES[name]["image"] for name in AIRFLOW_SERVICES} | {SERVICES["sandbox"]["image"]}
    assert len(images) == 1
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        # Workers reject tasks signed with another secret ("Invalid auth token"): one secret everywhere.
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == "${AIRFLOW_JWT_SECRET}"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")
        assert "${WAREHOUSE_PASSWORD}" in env["AIRFLOW_CONN_CRMHUB_WAREHOUSE"]


def test_published_ports_do_not_collide():
    published = [p.split(":")[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))


def test_compose_secrets_come_from_env_file_not_the_repo():
    text = (PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8")
    example = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8")
    for variable in ("AIRFLOW_JWT_SECRET", "AIRFLOW_METADATA_PASSWORD", "WAREHOUSE_PASSWORD"):
        assert "${" + variable + "}" in text and f"{variable}=" in example
    assert ".env" in (PROJECT_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_sandbox_and_init_commands_parse_with_the_real_clis():
    from crmhub.cli import build_parser
    from crmhub.sandbox.__main__ import build_parser as sandbox_parser

    init = SERVICES["airflow-init"]["command"]
    assert init[:3] == ["python", "-m", "crmhub"]
    build_parser().parse_args(init[3:])
    sandbox = SERVICES["sandbox"]["command"]
    assert sandbox[:3] == ["python", "-m", "crmhub.sandbox"]
    args = sandbox_parser().parse_args(sandbox[3:])
    assert (args.host, args.hubspot_port, args.hootsuite_port) == ("0.0.0.0", 8081, 8082), shlex.join(sandbox)


def test_hub_connection_types_are_registered_with_airflow():
    from airflow.providers_manager import ProvidersManager

    hooks = ProvidersManager().hooks
    assert hooks["crmhub_hubspot"].hook_class_name == "crmhub.orchestration.hooks.HubSpotHook"
    assert hooks["crmhub_hootsuite"].hook_class_name == "crmhub.orchestration.hooks.HootsuiteHook"


def test_operations_settings_reach_every_airflow_service():
    """Log links in alerts need the public base URL; erasure's suppression key must come from .env."""
    example = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8")
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__API__BASE_URL"].startswith("${AIRFLOW_BASE_URL")
        assert env["CRMHUB_PSEUDONYM_KEY"] == "${CRMHUB_PSEUDONYM_KEY}"
    assert "CRMHUB_PSEUDONYM_KEY=" in example and "AIRFLOW_CONN_CRMHUB_ALERTS=" in example


def test_celery_workers_can_be_scaled():
    """``docker compose up --scale airflow-worker=N`` needs a worker without fixed name or host ports."""
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker
