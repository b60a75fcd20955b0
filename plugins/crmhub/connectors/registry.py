"""Find a connector class by name: ``hubspot`` is ``crmhub.connectors.hubspot``; a dotted
``package.module:Class`` loads a plugin that lives outside this package."""

from __future__ import annotations

import importlib

from crmhub.connectors.base import Connector


def connector_class(spec: str) -> type[Connector]:
    """Import the connector plugin named by ``spec`` (raises ``LookupError`` with the reason)."""
    module_name, _, attr = spec.partition(":")
    if "." not in module_name:
        module_name = f"crmhub.connectors.{module_name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise LookupError(f"no connector plugin module {module_name!r}") from exc
    cls = getattr(module, attr or "CONNECTOR", None)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise LookupError(f"{module_name} has no Connector class {attr or 'CONNECTOR'!r}")
    return cls
