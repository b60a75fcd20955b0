"""Dry run of a rules change: what would differ between reconciling under the old and the new rules.

Stewards change ``precedence.yaml`` on production data; before anyone applies it they need to see
which golden values and which record→golden assignments move. Both runs get the same input and the
same previous xref, so every difference is caused by the rules alone.
"""

from __future__ import annotations

import pandas as pd

from crmhub.model import GOLDEN_COLUMNS
from crmhub.reconcile.pipeline import ReconcileResult

#: One row per changed golden field or moved source record.
DIFF_COLUMNS: list[str] = ["kind", "golden_id", "field", "source", "source_id", "old_value", "new_value"]


def diff_results(old: ReconcileResult, new: ReconcileResult) -> pd.DataFrame:
    """``kind`` is ``value`` (a golden field changes), ``golden_added``/``golden_removed`` or ``moved``
    (a source record would belong to another golden id)."""
    rows: list[dict[str, object]] = []
    old_g, new_g = old.golden.set_index("golden_id"), new.golden.set_index("golden_id")
    for gid in sorted(set(old_g.index) - set(new_g.index)):
        rows.append({"kind": "golden_removed", "golden_id": gid})
    for gid in sorted(set(new_g.index) - set(old_g.index)):
        rows.append({"kind": "golden_added", "golden_id": gid})
    common = sorted(set(old_g.index) & set(new_g.index))
    fields = [c for c in GOLDEN_COLUMNS if c not in ("golden_id", "source_updated_at")]
    for col in fields:
        before, after = old_g.loc[common, col], new_g.loc[common, col]
        changed = ~((before == after) | (before.isna() & after.isna()))
        for gid in before.index[changed.to_numpy(dtype=bool)]:
            rows.append(
                {"kind": "value", "golden_id": gid, "field": col, "old_value": before[gid], "new_value": after[gid]}
            )
    keys = ["source", "source_id"]
    moved = old.xref[[*keys, "golden_id"]].merge(new.xref[[*keys, "golden_id"]], on=keys, suffixes=("_old", "_new"))
    moved = moved[moved["golden_id_old"] != moved["golden_id_new"]]
    for rec in moved.itertuples(index=False):
        rows.append(
            {
                "kind": "moved",
                "golden_id": rec.golden_id_new,
                "source": rec.source,
                "source_id": rec.source_id,
                "old_value": rec.golden_id_old,
                "new_value": rec.golden_id_new,
            }
        )
    return pd.DataFrame(rows, columns=DIFF_COLUMNS).astype(object)
