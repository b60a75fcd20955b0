"""Find a connector class by name: ``hubspot`` is ``crmhub.connectors.hubspot``; a module outside this
package works too, as ``module`` (a single file on the plugins path, e.g. ``plugins/ticketdesk.py``) or
``package.module:Class``."""

from __future__ import annotations

import importlib

from crmhub.connectors.base import Connector


def connector_class(spec: str) -> type[Connector]:
    """Import the connector plugin named by ``spec`` (raises ``LookupError`` with the reason)."""
    module_name, _, attr = spec.partition(":")
    candidates = [f"crmhub.connectors.{module_name}", module_name] if "." not in module_name else [module_name]
    module = None
    for candidate in candidates:
        try:
            module = importlib.import_module(candidate)
            break
        except ModuleNotFoundError as exc:
            if exc.name != candidate:  # the plugin exists but imports something missing: say so
                raise LookupError(f"connector plugin {candidate!r} cannot be imported: {exc}") from exc
    if module is None:
        raise LookupError(f"no connector plugin module {' or '.join(repr(c) for c in candidates)}")
    cls = getattr(module, attr or "CONNECTOR", None)
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise LookupError(f"{module.__name__} has no Connector class {attr or 'CONNECTOR'!r}")
    return cls
