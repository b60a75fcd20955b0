"""The compose stack, checked statically against Airflow 3's official docker-compose conventions.

There is no Docker engine (nor the compose plugin: ``docker compose config`` is not available) on the
test machines, so the file is parsed with PyYAML (anchors and merge keys resolved as Compose does), the
shell scripts are syntax-checked with ``bash -n`` and their Python parts run here for real.
Reference: airflow-core/docs/howto/docker-compose/docker-compose.yaml in apache/airflow.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from crmhub.paths import PROJECT_DIR

COMPOSE_TEXT = (PROJECT_DIR / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict] = COMPOSE["services"]
DEV = yaml.safe_load((PROJECT_DIR / "docker-compose.dev.yml").read_text(encoding="utf-8"))
DOCKERFILE = (PROJECT_DIR / "Dockerfile").read_text(encoding="utf-8")

#: Long-running Airflow services and their Airflow 3 commands.
AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-worker": ["airflow", "celery", "worker"],
    "airflow-triggerer": ["airflow", "triggerer"],
}
#: Jobs that run once and exit (like the official airflow-init): no health check, no restart.
ONE_SHOT = {"airflow-init", "sandbox-connections"}
SANDBOX_PROFILE = {"sandbox", "sandbox-connections"}

#: The secrets of .env and the services that use them; every other service must not receive them.
SECRET_USERS = {
    "AIRFLOW_METADATA_PASSWORD": {"postgres", "airflow-init", "sandbox-connections", *AIRFLOW_COMMANDS},
    "AIRFLOW_FERNET_KEY": {"sandbox-connections", *AIRFLOW_COMMANDS},
    "AIRFLOW_JWT_SECRET": set(AIRFLOW_COMMANDS),
    "AIRFLOW_API_SECRET_KEY": set(AIRFLOW_COMMANDS),
    "AIRFLOW_ADMIN_PASSWORD": {"airflow-init"},
    "WAREHOUSE_PASSWORD": {"warehouse-db", "airflow-init", "airflow-worker", "airflow-apiserver"},
    "WAREHOUSE_BI_PASSWORD": {"airflow-init"},
    "CRMHUB_PSEUDONYM_KEY": {"airflow-worker"},
    # Alerts: task callbacks (worker), deadline callbacks (triggerer), DAG callbacks (dag-processor).
    "AIRFLOW_CONN_CRMHUB_ALERTS": {"airflow-worker", "airflow-triggerer", "airflow-dag-processor"},
}
SHARED_KEYS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY")


def _env_example() -> dict[str, str]:
    lines = (PROJECT_DIR / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#") and "=" in line)


def _referenced(value: object) -> set[str]:
    """Names of the ``${VAR}`` / ``${VAR:-default}`` a value interpolates (``$${...}`` is a literal)."""
    text = json.dumps(value)
    return set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)(?::?-[^}]*)?\}", text))


def _script(service: str) -> str:
    """A service's ``bash -c`` script as the container's shell sees it (Compose interpolation applied)."""
    command = SERVICES[service]["command"]
    script = command[command.index("-c") + 1]
    script = re.sub(r"(?<!\$)\$\{AIRFLOW_UID:-50000\}", "50000", script)
    return script.replace("$$", "$")


def test_compose_has_the_distributed_airflow_stack():
    assert {"postgres", "redis", "warehouse-db", "sandbox", *ONE_SHOT, *AIRFLOW_COMMANDS} == set(SERVICES)


@pytest.mark.parametrize("service", AIRFLOW_COMMANDS)
def test_each_airflow_service_runs_its_airflow_3_command(service):
    assert SERVICES[service]["command"] == AIRFLOW_COMMANDS[service]
    assert SERVICES[service]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert SERVICES[service]["environment"]["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith(
        "http://airflow-apiserver:8080/"
    )


def test_every_long_running_service_has_a_health_check_and_one_shot_jobs_exit():
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            assert "healthcheck" not in service and service.get("restart", "no") == "no", name
        else:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
            assert service["restart"] == "always", name


def test_health_checks_are_the_official_ones():
    def check(name: str) -> str:
        return " ".join(SERVICES[name]["healthcheck"]["test"][1:])

    assert check("airflow-apiserver") == "curl --fail http://localhost:8080/api/v2/version"
    assert check("airflow-scheduler") == "curl --fail http://localhost:8974/health"
    assert SERVICES["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"
    assert check("airflow-dag-processor") == 'airflow jobs check --job-type DagProcessorJob --hostname "$${HOSTNAME}"'
    assert check("airflow-triggerer") == 'airflow jobs check --job-type TriggererJob --hostname "$${HOSTNAME}"'
    app = "airflow.providers.celery.executors.celery_executor.app"
    assert check("airflow-worker") == f'celery --app {app} inspect ping -d "celery@$${{HOSTNAME}}"'
    if "curl" in COMPOSE_TEXT:
        assert re.search(r"apt-get install[^\n]*\bcurl\b", DOCKERFILE), "health checks call curl: install it"


def test_depends_on_conditions_fit_the_services():
    for name, service in SERVICES.items():
        for other, spec in (service.get("depends_on") or {}).items():
            assert other in SERVICES, (name, other)
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[other], (name, other)
            elif spec["condition"] == "service_completed_successfully":
                assert other in ONE_SHOT, (name, other)
    for name in AIRFLOW_COMMANDS:
        assert SERVICES[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_one_fernet_key_jwt_secret_and_api_key_for_every_airflow_service():
    for key in SHARED_KEYS:
        values = {SERVICES[name]["environment"][key] for name in AIRFLOW_COMMANDS}
        assert len(values) == 1, key
        (value,) = values
        assert _referenced(value) and "${" in value and ":-" not in value, (key, value)
    fernet = SERVICES["airflow-apiserver"]["environment"]["AIRFLOW__CORE__FERNET_KEY"]
    # The sandbox's Connections are encrypted with the key every service decrypts with.
    assert SERVICES["sandbox-connections"]["environment"]["AIRFLOW__CORE__FERNET_KEY"] == fernet
    from cryptography.fernet import Fernet

    Fernet(_env_example()["AIRFLOW_FERNET_KEY"].encode())  # the example key is a valid key


def test_no_env_file_and_each_secret_only_where_it_is_used():
    for name, service in SERVICES.items():
        assert "env_file" not in service, name
        used = _referenced(service.get("environment", {})) | _referenced(service.get("command", []))
        for secret, users in SECRET_USERS.items():
            assert (secret in used) == (name in users), (name, secret)


def test_every_variable_in_env_example_is_used_and_every_required_one_is_there():
    example = _env_example()
    referenced = _referenced(COMPOSE)
    assert set(example) <= referenced | {"AIRFLOW_UID"}, set(example) - referenced
    required = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)\}", COMPOSE_TEXT))
    assert required <= set(example), required - set(example)
    assert set(SECRET_USERS) - {"AIRFLOW_CONN_CRMHUB_ALERTS"} <= set(example)
    assert ".env" in (PROJECT_DIR / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in (PROJECT_DIR / ".dockerignore").read_text(encoding="utf-8").splitlines()


def test_the_image_contains_dags_include_and_plugins_and_compose_mounts_none():
    for folder in ("dags", "include", "plugins"):
        assert re.search(rf"^COPY {folder} /opt/crmhub/{folder}$", DOCKERFILE, re.M), folder
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source in COMPOSE["volumes"], (name, volume)  # named volumes only, no bind mounts
    env = SERVICES["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/crmhub/dags"
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == "/opt/crmhub/plugins"


def test_the_dev_override_only_adds_bind_mounts_of_the_working_tree():
    assert set(DEV["services"]) <= set(SERVICES)
    for name, service in DEV["services"].items():
        assert set(service) == {"volumes"}, name
        for volume in service["volumes"]:
            source, target = volume.split(":")[:2]
            assert source.startswith("./") and (PROJECT_DIR / source).is_dir(), volume
            assert target == "/opt/crmhub/" + source[2:], volume


def test_dumb_init_setting_only_with_dumb_init_in_the_image():
    if "DUMB_INIT" in COMPOSE_TEXT or "DUMB_INIT" in DOCKERFILE:
        assert re.search(r"apt-get install[^\n]*\bdumb-init\b", DOCKERFILE)
        assert 'ENTRYPOINT ["/usr/bin/dumb-init", "--"]' in DOCKERFILE


def test_init_creates_and_chowns_every_volume_the_airflow_user_writes():
    init = SERVICES["airflow-init"]
    assert init["user"] == "0:0" and init["entrypoint"] == "/bin/bash"
    script = _script("airflow-init")
    (chown,) = [line for line in script.splitlines() if line.startswith("chown -R")]
    owner, *paths = shlex.split(chown)[2:]
    assert owner == "50000:0"
    mounted = {v.split(":")[1] for v in init["volumes"]}
    for name, service in SERVICES.items():
        if service.get("user", "").startswith("${AIRFLOW_UID"):
            for volume in service.get("volumes", []):
                target = volume.split(":")[1]
                assert target in mounted, (name, target)
                assert any(target == p or target.startswith(p.rstrip("/") + "/") for p in paths), (name, target)
                assert re.search(rf"mkdir[^\n]*{re.escape(target)}", DOCKERFILE), target


def test_init_and_sandbox_connection_scripts_are_valid_bash():
    for service in ONE_SHOT:
        result = subprocess.run(["bash", "-n", "-c", _script(service)], capture_output=True, text=True)
        assert result.returncode == 0, (service, result.stderr)


def test_init_commands_parse_with_the_real_cli_and_create_the_bi_role():
    from crmhub.cli import build_parser

    calls = [line for line in _script("airflow-init").splitlines() if line.startswith("as_airflow python -m crmhub")]
    commands = [shlex.split(line)[4:] for line in calls]
    assert [c[0] for c in commands] == ["airflow-init", "bi-role"]
    for argv in commands:
        build_parser().parse_args(argv)
    bi = build_parser().parse_args(commands[1])
    assert bi.password_env == "WAREHOUSE_BI_PASSWORD" and bi.login == "${WAREHOUSE_BI_LOGIN}"
    env = SERVICES["airflow-init"]["environment"]
    assert env["CRMHUB_WAREHOUSE_URL"] == "postgresql://crmhub:${WAREHOUSE_PASSWORD}@warehouse-db:5432/warehouse"
    assert env["WAREHOUSE_BI_LOGIN"] == "${WAREHOUSE_BI_LOGIN:-bi_reader}"
    assert _env_example()["WAREHOUSE_BI_LOGIN"] == "bi_reader"


def test_admin_login_comes_from_env_through_the_password_file(tmp_path):
    """airflow-init writes the SimpleAuthManager's password file; the API server reads it."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    api = SERVICES["airflow-apiserver"]
    init = SERVICES["airflow-init"]
    path = api["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert api["environment"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "${AIRFLOW_ADMIN_USER:-admin}:admin"
    assert init["environment"]["AIRFLOW_ADMIN_USER"] == "${AIRFLOW_ADMIN_USER:-admin}"
    assert "SIMPLE_AUTH_MANAGER_ALL_ADMINS" not in COMPOSE_TEXT
    shared = {v for v in api["volumes"] if v.endswith(":/opt/airflow/auth")} & set(init["volumes"])
    assert shared and path.startswith("/opt/airflow/auth/")
    (line,) = [x for x in _script("airflow-init").splitlines() if x.startswith("python -c") and path in x]
    code = shlex.split(line.split(">")[0])[2]
    password = 'p@ss "w\'o\\rd" $HOME'
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"AIRFLOW_ADMIN_USER": "admin", "AIRFLOW_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    target = tmp_path / "passwords.json"
    target.write_text(out, encoding="utf-8")
    with target.open() as stream:
        assert SimpleAuthManager._get_passwords(stream) == {"admin": password}


def test_sandbox_is_behind_a_profile_and_nothing_else_needs_it():
    for name, service in SERVICES.items():
        if name in SANDBOX_PROFILE:
            assert service["profiles"] == ["sandbox"], name
        else:
            assert "profiles" not in service, name
            assert not SANDBOX_PROFILE & set(service.get("depends_on") or {}), name


def test_sandbox_command_parses_with_the_real_cli():
    from crmhub_dev.sandbox.__main__ import DEFAULT_PORTS
    from crmhub_dev.sandbox.__main__ import build_parser as sandbox_parser

    sandbox = SERVICES["sandbox"]["command"]
    assert sandbox[:3] == ["python", "-m", "crmhub_dev.sandbox"]
    args = sandbox_parser().parse_args(sandbox[3:])
    assert (args.host, args.tls, args.seed) == ("0.0.0.0", True, 42), shlex.join(sandbox)
    assert dict(args.port) == DEFAULT_PORTS
    published = {int(p.split(":")[0]) for p in SERVICES["sandbox"]["ports"]}
    assert set(DEFAULT_PORTS.values()) <= published


def test_sandbox_connections_carry_the_sandbox_credentials_whatever_env_says(tmp_path):
    """The Connections come from the sandbox's own code, not from .env, and Airflow's importer reads them."""
    from datetime import UTC, datetime

    from airflow.secrets.local_filesystem import load_connections_dict

    from crmhub.config import load_sources
    from crmhub_dev.sandbox.__main__ import DEFAULT_PORTS
    from crmhub_dev.sandbox.datagen import generate
    from crmhub_dev.sandbox.vendors import vendor

    script = _script("sandbox-connections")
    code = script.split("<<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    assert "os.environ" not in code and "${" not in code
    assert script.rstrip().endswith("airflow connections import --overwrite /tmp/sandbox-connections.json")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path, timeout=300
    ).stdout
    path = tmp_path / "sandbox-connections.json"
    path.write_text(out, encoding="utf-8")
    connections = load_connections_dict(str(path))

    # What the running sandbox (``--anchor today``) accepts.
    served = generate(anchor=datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0))
    api_sources = [s for s in load_sources().values() if s.conn_id is not None]
    assert api_sources and set(connections) == {s.conn_id for s in api_sources}
    for source in api_sources:
        conn = connections[source.conn_id]
        port = DEFAULT_PORTS[source.connector]
        accepted = vendor(source.connector).load("connection")(f"https://sandbox:{port}", served, None)
        assert (conn.conn_type, conn.host, conn.port, conn.schema) == (accepted["conn_type"], "sandbox", port, "https")
        assert (conn.login, conn.password) == (accepted.get("login"), accepted.get("password")), source.name
        extra = conn.extra_dejson
        assert extra.pop("verify") == "/opt/crmhub/tls/ca.pem"
        assert extra == (accepted.get("extra") or {}), source.name
    mounts = SERVICES["airflow-worker"]["volumes"]
    assert "sandbox-tls:/opt/crmhub/tls:ro" in mounts


def test_published_ports_do_not_collide_and_workers_scale():
    published = [p.split(":")[0] for s in SERVICES.values() for p in s.get("ports", [])]
    assert len(published) == len(set(published))
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker


def test_operations_settings_reach_the_services_that_read_them():
    """Freshness is read where DAGs are parsed; the base URL builds log links in alerts."""
    for name in AIRFLOW_COMMANDS:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__API__BASE_URL"].startswith("${AIRFLOW_BASE_URL")
        assert env["CRMHUB_FRESHNESS_MINUTES"].startswith("${CRMHUB_FRESHNESS_MINUTES")
    env = SERVICES["airflow-worker"]["environment"]
    assert env["CRMHUB_PSEUDONYM_KEY"] == "${CRMHUB_PSEUDONYM_KEY}"
    assert (
        env["AIRFLOW_CONN_CRMHUB_WAREHOUSE"] == "postgresql://crmhub:${WAREHOUSE_PASSWORD}@warehouse-db:5432/warehouse"
    )


def test_docs_say_how_to_log_in():
    for doc in (PROJECT_DIR / "docs" / "operations.md", PROJECT_DIR / "README.md"):
        text = doc.read_text(encoding="utf-8")
        assert "AIRFLOW_ADMIN_PASSWORD" in text and "--profile sandbox" in text, doc


def test_compose_plugin_is_not_assumed():
    """``docker compose config`` would be the better check, but this machine has no compose plugin."""
    docker = Path("/usr/local/bin/docker")
    if docker.exists():
        result = subprocess.run([str(docker), "compose", "version"], capture_output=True, text=True)
        if result.returncode == 0:  # pragma: no cover - only where the plugin exists
            config = subprocess.run(
                [str(docker), "compose", "--env-file", ".env.example", "--profile", "sandbox", "config", "-q"],
                cwd=PROJECT_DIR,
                capture_output=True,
                text=True,
            )
            assert config.returncode == 0, config.stderr


def test_the_hub_image_leaves_the_developer_tools_out_and_only_the_sandbox_services_have_them() -> None:
    stages = re.split(r"(?m)^FROM ", DOCKERFILE)[1:]
    hub = next(s for s in stages if s.split()[2:3] == ["hub"])
    sandbox = next(s for s in stages if s.split()[2:3] == ["sandbox"])
    assert "tools" not in re.findall(r"(?m)^COPY (\S+)", hub)
    assert re.search(r"(?m)^COPY tools ", sandbox)
    built = {name: service for name, service in SERVICES.items() if "build" in service}
    assert built, "no service builds the project's image"
    for name, service in built.items():
        target = service["build"].get("target")
        assert target == ("sandbox" if "sandbox" in service.get("profiles", []) else "hub"), name
