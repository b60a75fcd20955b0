"""Airflow DAGs: the fast path (issue 17) — frequent small social pulls and webhook-driven pulls.

Built from ``fast_path:`` in include/config/sources.yaml; none when it is off (``enabled: false`` or
``CRMHUB_FAST_PATH=off``). The logic lives in crmhub.
"""

from crmhub.config import load_sources
from crmhub.ops.fast_path import load_fast_path
from crmhub.orchestration.fast_path import build_fast_pull_dag, build_fast_push_dag

_sources = load_sources()
_config = load_fast_path(sources=_sources)
if _config.enabled:
    for _name, _pull in _config.pulls.items():
        globals()[f"crmhub_fast_pull_{_name}"] = build_fast_pull_dag(_sources[_name], _pull)
    for _name, _push in _config.pushes.items():
        globals()[f"crmhub_fast_push_{_name}"] = build_fast_push_dag(_sources[_name], _push)
