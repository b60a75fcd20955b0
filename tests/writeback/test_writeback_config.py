"""include/config/writeback.yaml is validated on load: errors name the file and the key."""

from __future__ import annotations

import pytest

from crmhub.errors import ConfigError
from crmhub.reconcile.rules import load_rules
from crmhub.stages.writeback import _crm_led_fields
from crmhub.stages.writeback_config import load_writeback


def write(tmp_path, text):
    path = tmp_path / "writeback.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_loads_with_hubspot_leading():
    config = load_writeback()
    assert [t.source for t in config.active_targets()][:1] == ["hubspot"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("targets: [{source: hubspot, service_kind: ticket}]", "targets[0].service_kind"),
        ("targets: [{source: hubspot, enable: true}]", "targets[0].enable"),
        ("targets: [{source: hubspot}, {source: hubspot}]", "targets[1].source"),
        ("targets: []\nenrich: {fields: {email: social}}", "enrich.fields.email"),
        ("targets: []\nmessage_links: {sprout: 'https://x.example/'}", "message_links.sprout"),
        ("targets: []\nenabled: yes please", "enabled"),
    ],
)
def test_a_mistake_names_the_file_and_the_key(tmp_path, text, key):
    with pytest.raises(ConfigError) as err:
        load_writeback(write(tmp_path, text))
    assert err.value.key == key and err.value.file.endswith("writeback.yaml")


def test_an_enrich_field_must_name_a_precedence_attribute(tmp_path):
    config = load_writeback(write(tmp_path, "targets: [{source: hubspot}]\nenrich: {fields: {social_handle: socials}}"))
    with pytest.raises(ConfigError, match="enrich.fields.social_handle: 'socials' is not an attribute"):
        _crm_led_fields(config, load_rules(), "hubspot")


def test_with_the_shipped_precedence_the_social_tools_lead_the_social_fields_over_every_crm():
    config, rules = load_writeback(), load_rules()
    assert _crm_led_fields(config, rules, "hubspot") == frozenset()
    assert _crm_led_fields(config, rules, "dynamics") == frozenset()  # dynamics never supplies social


def test_the_environment_switch_turns_write_back_off(monkeypatch):
    monkeypatch.setenv("CRMHUB_WRITEBACK", "off")
    assert load_writeback().active_targets() == ()
