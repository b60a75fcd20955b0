"""Steward review: the queue of uncertain pairs out, steward decisions (link / split) back in.

A pair lands in the queue when its fuzzy score is between the review and link thresholds, or when a
link was refused because it would have joined two records a direct comparison (or a steward) says are
different people. Decisions name records by ``(source, source_id)`` — stable across runs, unlike row
positions — and are applied on the next run: ``link`` forces the pair together (strongest link of all),
``split`` forbids it (a cannot-link constraint no other link can override). ``restore_golden_id`` on a
decision gives the left record back a golden id it had before a merge (merge undo).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crmhub.errors import SourceDataError
from crmhub.model import REVIEW_COLUMNS
from crmhub.reconcile.match import LINK_COLUMNS

#: One row per steward decision.
DECISION_COLUMNS: list[str] = [
    "left_source",
    "left_source_id",
    "right_source",
    "right_source_id",
    "decision",  # link | split
    "restore_golden_id",  # optional: golden id the left record gets back (merge undo)
]

DECISIONS = ("link", "split")

#: Link priorities for clustering: steward links first, then deterministic keys, then fuzzy scores.
STEWARD_PRIORITY = 1e9
EXACT_PRIORITY = 1e6


def empty_review() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float if c == "score" else object) for c in REVIEW_COLUMNS})


def _positions(records: pd.DataFrame, source: pd.Series, source_id: pd.Series) -> np.ndarray:
    """Row positions of ``(source, source_id)`` in ``records``; -1 where the record is not present."""
    index = pd.MultiIndex.from_arrays([records["source"].astype(str), records["source_id"].astype(str)])
    wanted = pd.MultiIndex.from_arrays([source.astype(str), source_id.astype(str)])
    return index.get_indexer(wanted)


def check_decisions(decisions: pd.DataFrame | None) -> pd.DataFrame:
    """Validate a decisions frame (missing optional column is fine); bad rows fail naming the row."""
    if decisions is None or decisions.empty:
        return pd.DataFrame(columns=DECISION_COLUMNS)
    frame = decisions.copy()
    if "restore_golden_id" not in frame.columns:
        frame["restore_golden_id"] = None
    missing = [c for c in DECISION_COLUMNS if c not in frame.columns]
    if missing:
        raise SourceDataError(f"steward decisions are missing column(s): {', '.join(missing)}")
    bad = ~frame["decision"].isin(DECISIONS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise SourceDataError(f"steward decision row {row}: decision must be one of {', '.join(DECISIONS)}")
    return frame[DECISION_COLUMNS].reset_index(drop=True)


def decision_constraints(
    records: pd.DataFrame, decisions: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, set[tuple[int, int]]]:
    """Turn decisions into ``(steward links, cannot_left, cannot_right, decided pairs)`` over positions.

    Decisions about records no longer present are ignored (the record was deleted upstream).
    """
    if decisions.empty:
        return pd.DataFrame(columns=[*LINK_COLUMNS, "priority"]), np.empty(0, np.int64), np.empty(0, np.int64), set()
    left = _positions(records, decisions["left_source"], decisions["left_source_id"])
    right = _positions(records, decisions["right_source"], decisions["right_source_id"])
    ok = (left >= 0) & (right >= 0) & (left != right)
    lo, hi = np.minimum(left, right), np.maximum(left, right)
    is_link = decisions["decision"].to_numpy() == "link"
    links = pd.DataFrame(
        {
            "left": lo[ok & is_link],
            "right": hi[ok & is_link],
            "rule": "steward",
            "match_key": "steward:link",
            "score": 1.0,
            "priority": STEWARD_PRIORITY,
        }
    )
    decided = {(int(a), int(b)) for a, b in zip(lo[ok], hi[ok], strict=True)}
    return links, lo[ok & ~is_link], hi[ok & ~is_link], decided


def restore_hints(decisions: pd.DataFrame) -> pd.DataFrame:
    """``(source, source_id, golden_id)`` rows that override the previous xref (merge undo)."""
    hinted = decisions.dropna(subset=["restore_golden_id"])
    return pd.DataFrame(
        {
            "source": hinted["left_source"].astype(str),
            "source_id": hinted["left_source_id"].astype(str),
            "golden_id": hinted["restore_golden_id"].astype(str),
        }
    ).drop_duplicates(["source", "source_id"], keep="last")


def build_review(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    refused: pd.DataFrame,
    review_threshold: float,
    link_threshold: float,
    conflict_levels: frozenset[str],
    decided: set[tuple[int, int]],
) -> pd.DataFrame:
    """The review queue: review-band pairs and refused links whose records ended in different clusters.

    Best score first, then by the left record's source and id. Filtering, de-duplication and ordering run
    on record positions and numbers; the text columns are built once, for the rows that stay (at 100k
    records the queue holds ~700k pairs, and every reorder of a text column costs a copy of it).
    """
    score = pairs["score"].to_numpy(dtype=float)
    in_band = (score >= review_threshold) & (score < link_threshold) & ~pairs["name"].isin(conflict_levels).to_numpy()
    explanation = pairs["explanation"]
    if not isinstance(explanation.dtype, pd.CategoricalDtype):
        explanation = explanation.astype("category")
    texts = explanation.cat.categories.astype(object).tolist()
    band_codes = explanation.cat.codes.to_numpy(dtype=np.int64)[in_band]
    refused_rows = refused[["left", "right", "rule"]].assign(reason="refused_link")
    scored = pairs[pairs["left"].isin(refused_rows["left"]) & pairs["right"].isin(refused_rows["right"])]
    refused_rows = refused_rows.merge(
        scored[["left", "right", "score", "explanation"]].astype({"explanation": object}),
        on=["left", "right"],
        how="left",
    )
    refused_rows["explanation"] = refused_rows["explanation"].astype(object).fillna("not scored (block too large)")
    n_band = int(in_band.sum())
    left = np.concatenate(
        [pairs["left"].to_numpy(dtype=np.int64)[in_band], refused_rows["left"].to_numpy(dtype=np.int64)]
    )
    right = np.concatenate(
        [pairs["right"].to_numpy(dtype=np.int64)[in_band], refused_rows["right"].to_numpy(dtype=np.int64)]
    )
    q_score = np.concatenate([score[in_band], refused_rows["score"].to_numpy(dtype=float)])
    reason = np.concatenate(
        [np.full(n_band, "review_band", dtype=object), refused_rows["reason"].to_numpy(dtype=object)]
    )
    rule = np.concatenate([np.full(n_band, "fuzzy", dtype=object), refused_rows["rule"].to_numpy(dtype=object)])
    refused_texts, refused_codes = refused_rows["explanation"].tolist(), np.arange(len(refused_rows)) + len(texts)
    text_vocab = pd.array([*texts, *refused_texts], dtype="str")
    text = np.concatenate([band_codes, refused_codes])
    golden = records["golden_id"].to_numpy(dtype=object)
    keep = golden[left] != golden[right]
    if decided:
        keep &= np.array([(int(a), int(b)) not in decided for a, b in zip(left, right, strict=True)], dtype=bool)
    # (source, source_id) is unique per record position: duplicates are duplicate position pairs.
    keep &= ~pd.Series(left * max(len(golden), 1) + right).duplicated().to_numpy()
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return empty_review()
    src, sid = records["source"].to_numpy(dtype=object), records["source_id"].to_numpy(dtype=object)
    src_rank = pd.factorize(src[left[rows]], sort=True)[0]
    sid_rank = pd.factorize(sid[left[rows]], sort=True)[0]
    order = rows[np.lexsort((sid_rank, src_rank, -q_score[rows]))]  # stable, like sort_values; NaN last
    left, right = left[order], right[order]
    # Text columns by taking from arrays that are already text (no per-value conversion of objects).
    source, source_id, golden_id = (_text(records[c]) for c in ("source", "source_id", "golden_id"))
    return pd.DataFrame(
        {
            "left_source": source.take(left),
            "left_source_id": source_id.take(left),
            "left_golden_id": golden_id.take(left),
            "right_source": source.take(right),
            "right_source_id": source_id.take(right),
            "right_golden_id": golden_id.take(right),
            "score": q_score[order],
            "reason": pd.array(reason[order], dtype="str"),
            "rule": pd.array(rule[order], dtype="str"),
            "explanation": text_vocab.take(text[order]),
        }
    )


def _text(column: pd.Series) -> Any:
    """A text column as a text array (taken from as is when it already is one)."""
    return column.array if column.dtype == "str" else pd.array(column.to_numpy(dtype=object), dtype="str")
