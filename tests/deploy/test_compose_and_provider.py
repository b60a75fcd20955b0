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
    assert (args.host, args.tls) == ("0.0.0.0", True), shlex.join(sandbox)
    assert dict(args.port) == {"hubspot": 8081, "hootsuite": 8082, "salesforce": 8083, "dynamics": 8084, "sprout": 8085}


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


def _env_example() -> dict[str, str]:
    lines = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)


def _expand(text: str, env: dict[str, str]) -> str:
    for name, value in env.items():
        text = text.replace("${" + name + "}", value)
    return text


def test_every_configured_api_source_has_a_compose_connection_to_its_sandbox_vendor():
    import json

    from crmhub.config import load_sources
    from crmhub.sandbox.__main__ import DEFAULT_PORTS

    env = SERVICES["airflow-worker"]["environment"]
    command = SERVICES["sandbox"]["command"]
    for source in load_sources().values():
        if source.conn_id is None:
            continue
        conn = json.loads(_expand(env[f"AIRFLOW_CONN_{source.conn_id.upper()}"], _env_example()))
        assert conn["host"] == "sandbox" and conn["schema"] == "https"
        assert conn["port"] == DEFAULT_PORTS[source.connector]
        assert f"{source.connector}={conn['port']}" in command
        assert conn["extra"]["verify"].startswith("/opt/crmhub/tls/")


def test_env_example_holds_the_credentials_the_sandbox_accepts():
    import json

    from crmhub.config import load_sources
    from crmhub.sandbox.datagen import generate
    from crmhub.sandbox.vendors import vendor

    data = generate(people=5)
    env = SERVICES["airflow-worker"]["environment"]
    for source in load_sources().values():
        if source.conn_id is None:
            continue
        conn = json.loads(_expand(env[f"AIRFLOW_CONN_{source.conn_id.upper()}"], _env_example()))
        url = f"https://sandbox:{conn['port']}"
        accepted = vendor(source.connector).load("connection")(url, data, None)
        assert conn.get("login") == accepted.get("login"), source.name
        assert conn.get("password") == accepted.get("password"), source.name
        for key, value in (accepted.get("extra") or {}).items():
            assert conn["extra"][key] == value, (source.name, key)
