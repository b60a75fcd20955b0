"""Reconcile engine: normalize → match → golden IDs → survive. No Airflow imports.

Public API: :func:`reconcile`, :func:`attach_interactions`, :class:`ReconcileResult`,
:func:`load_rules`, :class:`PrecedenceRules`.
"""

from crmhub.reconcile.pipeline import ReconcileResult, attach_interactions, reconcile
from crmhub.reconcile.rules import PrecedenceRules, load_rules, parse_rules

__all__ = ["PrecedenceRules", "ReconcileResult", "attach_interactions", "load_rules", "parse_rules", "reconcile"]
