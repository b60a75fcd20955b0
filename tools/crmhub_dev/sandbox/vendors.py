"""The sandbox's vendors: one entry per fake vendor API, so adding a vendor is one module and one line.

Each entry names, as ``module:attribute`` strings imported when used (the apps import FastAPI; the
data generator must not import them):

- ``app``: ``create_app(data, settings) -> FastAPI``, the fake vendor over the generated data;
- ``settings``: the settings dataclass (credentials, limits, faults), built with no arguments by default;
- ``derive``: optional ``derive(ctx) -> Any`` that makes the vendor's records from the generated people
  (see :class:`crmhub_dev.sandbox.datagen.DeriveContext`) and registers them in the ground truth;
- ``connection``: ``connection(url, data, ca_bundle) -> dict`` giving the Airflow Connection fields
  (``conn_type``, ``login``, ``password``, ``extra``) that reach this vendor in the sandbox.

A vendor without an API (the legacy CSV file drop) has ``app=None``: it only derives data, which its
own module writes where the source reads it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SandboxVendor:
    name: str
    app: str | None
    settings: str | None = None
    connection: str | None = None
    derive: str | None = None

    def load(self, attribute: str) -> Any:
        spec = getattr(self, attribute)
        if spec is None:
            raise ValueError(f"sandbox vendor {self.name!r} has no {attribute}")
        module_name, _, name = spec.partition(":")
        return getattr(importlib.import_module(module_name), name)


VENDORS: dict[str, SandboxVendor] = {
    vendor.name: vendor
    for vendor in (
        SandboxVendor(
            "hubspot",
            app="crmhub_dev.sandbox.hubspot:create_hubspot_app",
            settings="crmhub_dev.sandbox.hubspot:HubSpotSettings",
            connection="crmhub_dev.sandbox.hubspot:sandbox_connection",
        ),
        SandboxVendor(
            "hootsuite",
            app="crmhub_dev.sandbox.hootsuite:create_hootsuite_app",
            settings="crmhub_dev.sandbox.hootsuite:HootsuiteSettings",
            connection="crmhub_dev.sandbox.hootsuite:sandbox_connection",
        ),
        SandboxVendor(
            "dynamics",
            app="crmhub_dev.sandbox.dynamics:create_dynamics_app",
            settings="crmhub_dev.sandbox.dynamics:DynamicsSettings",
            connection="crmhub_dev.sandbox.dynamics:sandbox_connection",
            derive="crmhub_dev.sandbox.dynamics:derive",
        ),
        SandboxVendor(
            "salesforce",
            app="crmhub_dev.sandbox.salesforce:create_salesforce_app",
            settings="crmhub_dev.sandbox.salesforce:SalesforceSettings",
            connection="crmhub_dev.sandbox.salesforce:sandbox_connection",
            derive="crmhub_dev.sandbox.salesforce:derive",
        ),
        SandboxVendor(
            "sprout",
            app="crmhub_dev.sandbox.sprout:create_sprout_app",
            settings="crmhub_dev.sandbox.sprout:SproutSettings",
            connection="crmhub_dev.sandbox.sprout:sandbox_connection",
            derive="crmhub_dev.sandbox.sprout:derive",
        ),
        SandboxVendor("legacy", app=None, derive="crmhub_dev.sandbox.legacy_files:derive"),
    )
}


def api_vendors() -> tuple[str, ...]:
    """The vendors the sandbox serves over HTTP."""
    return tuple(name for name, spec in VENDORS.items() if spec.app)


def vendor(name: str) -> SandboxVendor:
    if name not in VENDORS:
        raise ValueError(f"unknown sandbox vendor {name!r}; known: {sorted(VENDORS)}")
    return VENDORS[name]
