"""The crmhub_* connection forms: provider info valid for Airflow 3.3 and listing what each connector reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import airflow
import jsonschema
import pytest

from crmhub.orchestration.provider import get_provider_info
from crmhub.paths import PACKAGE_DIR

AIRFLOW_DIR = Path(airflow.__file__).parent
INFO = get_provider_info()
TYPES = {c["connection-type"]: c for c in INFO["connection-types"]}
#: Extras a connector reads but the form leaves to the raw Extra JSON (their default is not empty,
#: and a form may store an untouched field as null).
EXTRA_JSON_ONLY = {"crmhub_hootsuite": {"grant_type", "token_path"}}
#: Read by the HTTP hook every source hook extends (TLS: a CA bundle path).
HOOK_EXTRAS = {"verify"}


def _read_extras(connector: str) -> set[str]:
    """The extra keys ``crmhub/connectors/<connector>.py`` reads (``extra.get("x")`` / ``extra["x"]``)."""
    source = (PACKAGE_DIR / "connectors" / f"{connector}.py").read_text(encoding="utf-8")
    return set(re.findall(r"extra\)?(?:\.get\(|\[)\s*[\"'](\w+)[\"']", source))


def test_provider_info_validates_against_airflows_schemas():
    jsonschema.validate(INFO, json.loads((AIRFLOW_DIR / "provider_info.schema.json").read_text()))
    # provider_info.schema.json leaves connection types open; provider.yaml's schema defines the form keys.
    yaml_schema = json.loads((AIRFLOW_DIR / "provider.yaml.schema.json").read_text())
    jsonschema.validate(INFO["connection-types"], yaml_schema["properties"]["connection-types"])
    behaviour_schema = json.loads((AIRFLOW_DIR / "customized_form_field_behaviours.schema.json").read_text())
    for conn in INFO["connection-types"]:
        behaviour = conn["ui-field-behaviour"]
        jsonschema.validate(
            {"hidden_fields": behaviour["hidden-fields"], "relabeling": behaviour["relabeling"]}, behaviour_schema
        )


def test_every_configured_source_connection_type_has_a_form():
    from crmhub.config import load_sources

    for source in load_sources().values():
        if source.conn_id is not None:
            assert f"crmhub_{source.connector}" in TYPES, source.name


@pytest.mark.parametrize("conn_type", sorted(TYPES))
def test_form_fields_are_the_extras_the_connector_reads(conn_type):
    connector = conn_type.removeprefix("crmhub_")
    fields = set(TYPES[conn_type]["conn-fields"])
    read = _read_extras(connector)
    assert fields == (read - EXTRA_JSON_ONLY.get(conn_type, set())) | HOOK_EXTRAS
    assert EXTRA_JSON_ONLY.get(conn_type, set()) <= read  # still read, else drop it from the list


def test_the_extras_docs_sources_names_are_form_fields():
    text = (PACKAGE_DIR.parent.parent / "docs" / "sources.md").read_text(encoding="utf-8")
    table = [cell for line in text.splitlines() if line.startswith("|") for cell in line.split("|")]
    for conn_type, conn in TYPES.items():
        cells = [cell for cell in table if f"`{conn_type}`" in cell]
        assert len(cells) == 1, conn_type
        named = set(re.findall(r"`(\w+)`", cells[0].split("extra", 1)[1])) if "extra" in cells[0] else set()
        assert named <= set(conn["conn-fields"]) | EXTRA_JSON_ONLY.get(conn_type, set()), conn_type


def test_labels_follow_the_hooks_and_unused_login_is_hidden():
    from crmhub.orchestration import hooks

    source_hooks = (hooks.HubSpotHook, hooks.HootsuiteHook, hooks.SalesforceHook, hooks.DynamicsHook)
    for hook in (*source_hooks, hooks.SproutSocialHook):
        conn = TYPES[hook.conn_type]
        assert conn["hook-class-name"] == f"{hook.__module__}.{hook.__name__}"
        assert conn["hook-name"] == hook.hook_name
        behaviour = conn["ui-field-behaviour"]
        assert behaviour["relabeling"]["password"] == hook._password_label
        if "unused" in hook._login_label:
            assert "login" in behaviour["hidden-fields"]
        else:
            assert behaviour["relabeling"]["login"].startswith(hook._login_label)
    assert TYPES["crmhub_dynamics"]["conn-fields"]["tenant_id"]["label"] == "Tenant ID"


def test_secret_fields_are_masked_and_verify_cannot_switch_tls_off():
    assert TYPES["crmhub_hootsuite"]["conn-fields"]["refresh_token"]["schema"]["format"] == "password"
    for conn in TYPES.values():
        schema = conn["conn-fields"]["verify"]["schema"]
        for ok in (None, "/opt/crmhub/tls/ca.pem"):
            jsonschema.validate(ok, schema)
        for bad in ("", "false", False, 0):  # an empty string would turn verification off in requests
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(bad, schema)


def test_airflow_builds_the_forms_from_the_provider_info():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = manager.connection_form_widgets
    behaviours = manager.field_behaviours
    for conn_type, conn in TYPES.items():
        assert manager.hooks[conn_type].hook_class_name == conn["hook-class-name"]
        for name, field in conn["conn-fields"].items():
            widget = widgets[f"extra__{conn_type}__{name}"]
            assert widget.field_name == name and widget.field["schema"]["title"] == field["label"]
        assert behaviours[conn_type]["relabeling"] == conn["ui-field-behaviour"]["relabeling"]
    assert widgets["extra__crmhub_hootsuite__refresh_token"].is_sensitive
