"""The reconcile engine's public API: canonical contacts in, golden records with lineage out.

``reconcile`` is a pure function of its inputs (no I/O, no clock), so the Airflow task, the CLI and
a steward's dry run all get the same answer for the same files.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmhub.errors import SourceDataError
from crmhub.model import CONTACT_COLUMNS, INTERACTION_COLUMNS, PROFILE_COLUMNS, XREF_COLUMNS, conform
from crmhub.reconcile.fuzzy import PAIR_COLUMNS, conflict_name_levels, score_pairs
from crmhub.reconcile.golden_ids import assign_golden_ids
from crmhub.reconcile.match import cluster_guarded, explain_records, find_links, source_merge_links
from crmhub.reconcile.normalize import normalize_contacts
from crmhub.reconcile.review import (
    EXACT_PRIORITY,
    build_review,
    check_decisions,
    decision_constraints,
    empty_review,
    restore_hints,
)
from crmhub.reconcile.rules import PrecedenceRules
from crmhub.reconcile.survive import check_pins, survive

if TYPE_CHECKING:
    from crmhub.reconcile.scope import ScopeLimits

REQUIRED_CONTACT_FIELDS = ("source", "source_id", "source_updated_at")

#: Raw text fields that normalization replaces by ``n_*`` / ``key_*`` columns: dropped right after it,
#: since at a million records each one is ~60 MB of Python strings nothing reads again.
RAW_TEXT_COLUMNS: tuple[str, ...] = (
    "first_name",
    "name_prefix",
    "last_name",
    "email",
    "phone",
    "address_line",
    "postcode",
    "city",
    "country",
    "social_network",
    "social_handle",
    "company",
    *PROFILE_COLUMNS,
)
#: Match keys: needed by matching only, dropped before survivorship (the peak of a run).
MATCH_KEY_COLUMNS: tuple[str, ...] = (
    "key_email",
    "key_phone",
    "key_social",
    "key_name",
    "key_address",
    "key_country",
    "key_street",
    "key_postcode",
    "key_city",
    "key_line",
)


@dataclass
class ReconcileResult:
    """Everything one reconcile run produces; frames follow ``crmhub.model``."""

    golden: pd.DataFrame
    xref: pd.DataFrame
    lineage: pd.DataFrame
    conflicts: pd.DataFrame
    merges: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    review: pd.DataFrame = field(default_factory=empty_review)
    pairs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PAIR_COLUMNS))
    #: per record (``with_keys``): source, source_id, ``component`` (hash of the smallest member of
    #: its link component, refused links included) and the key hashes of :mod:`crmhub.reconcile.scope`
    record_keys: pd.DataFrame | None = None
    #: whether the key hashes split records as the matcher's blocking does (``with_keys``)
    keys_verified: tuple[bool, str] = (False, "not computed")


def _check_contacts(contacts: pd.DataFrame) -> pd.DataFrame:
    """Conform to the contract (optional columns may be absent) and refuse records without identity
    or business time.

    Such a record cannot be placed in history, so it fails loudly with the row and field named (no
    values: they may be personal data).
    """
    missing = [c for c in REQUIRED_CONTACT_FIELDS if c not in contacts.columns]
    if missing:
        raise SourceDataError(f"contacts frame is missing required column(s): {', '.join(missing)}")
    frame = conform(contacts[[c for c in CONTACT_COLUMNS if c in contacts.columns]], CONTACT_COLUMNS)
    for col in PROFILE_COLUMNS:  # optional profile evidence (crmhub.reconcile.profile), kept when given
        if col in contacts.columns:
            values = contacts[col].astype(object).to_numpy()
            frame[col] = pd.Series(values, index=frame.index, dtype=object).where(pd.notna(values), None)
    for col in REQUIRED_CONTACT_FIELDS:
        empty = frame[col].isna()
        if col != "source_updated_at":
            empty |= frame[col].astype(str).str.strip().eq("")
        if empty.any():
            row = int(empty.to_numpy().nonzero()[0][0])
            src = frame.at[row, "source"] if col != "source" else "?"
            raise SourceDataError(
                f"contact row {row} (source {src!r}): required field {col!r} is empty "
                f"({int(empty.sum())} row(s) affected)"
            )
    frame["source"] = frame["source"].astype(str).str.strip()
    frame["source_id"] = frame["source_id"].astype(str).str.strip()
    return frame


def reconcile(
    contacts: pd.DataFrame,
    rules: PrecedenceRules,
    previous_xref: pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    pins: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
    *,
    with_keys: bool = False,
    limits: ScopeLimits | None = None,
    known_golden_ids: Container[str] | None = None,
) -> ReconcileResult:
    """Match, assign stable golden ids and survive attributes for the full current set of contacts.

    ``contacts`` holds every current record (``CONTACT_COLUMNS``); if a record appears twice (two
    exports), the version with the newest ``source_updated_at`` is used. ``previous_xref`` is the xref
    of the last run, so golden ids stay stable. ``decisions`` are steward link/split decisions
    (``review.DECISION_COLUMNS``), ``pins`` steward-pinned golden values (``survive.PIN_COLUMNS``);
    ``as_of`` is the reference time for trust decay (default: the newest business timestamp, so the
    result stays a pure function of the inputs).
    """
    frame = _check_contacts(contacts)
    n_input = len(frame)
    frame = (
        frame.sort_values(["source", "source_id", "source_updated_at"], kind="stable", na_position="first")
        .drop_duplicates(["source", "source_id"], keep="last")
        .reset_index(drop=True)
    )
    records = normalize_contacts(frame, phone_regions=rules.phone_regions, source_countries=rules.countries)
    del frame  # normalize_contacts copied it; at 1M records the duplicate costs ~1 GB of peak memory
    _drop(records, RAW_TEXT_COLUMNS)  # every later step reads the normalized form

    keys, feat, verified = None, None, (False, "not computed")
    if with_keys or limits is not None:
        from crmhub.reconcile.scope import record_keys, verify_keys

        keys, feat = record_keys(records, rules.matching)
        if with_keys:
            verified = verify_keys(keys, feat, rules.matching)
        del feat
        if limits is not None:
            limits.keys = keys.reset_index(drop=True)
    links, reports = find_links(records, rules.matching)
    if limits is not None:  # a key shared by too many records overall links nothing, as in a full run
        links = links[limits.keep_links(links)].reset_index(drop=True)
    merged_in_source = source_merge_links(records)
    if not merged_in_source.empty:
        links = pd.concat([links, merged_in_source], ignore_index=True)
    steward = check_decisions(decisions)
    steward_links, cannot_left, cannot_right, decided = decision_constraints(records, steward)
    fuzzy = rules.matching.fuzzy
    conflict_levels = conflict_name_levels(fuzzy)
    pairs = pd.DataFrame(columns=PAIR_COLUMNS)
    blocking: dict[str, int] = {}
    link_frames = [steward_links, links.assign(priority=EXACT_PRIORITY)]
    if fuzzy.enabled:
        pairs, block_report = score_pairs(records, fuzzy)
        if limits is not None:  # pairs whose every shared block is too large overall
            pairs = pairs[limits.keep_pairs(pairs)].reset_index(drop=True)
        blocking = vars(block_report)
        strong = pairs[pairs["score"] >= fuzzy.link]
        link_frames.append(
            pd.DataFrame(
                {
                    "left": strong["left"].to_numpy(),
                    "right": strong["right"].to_numpy(),
                    "rule": "fuzzy",
                    "match_key": [f"fuzzy:{v:g}" for v in strong["score"].tolist()],
                    "score": strong["score"].to_numpy(),
                    "priority": strong["score"].to_numpy(),
                }
            )
        )
        conflict = pairs[pairs["name"].isin(conflict_levels)]
        cannot_left = pd.concat([pd.Series(cannot_left), conflict["left"]]).to_numpy(dtype="int64")
        cannot_right = pd.concat([pd.Series(cannot_right), conflict["right"]]).to_numpy(dtype="int64")
    non_empty = [f for f in link_frames if not f.empty]
    all_links = (
        pd.concat(non_empty, ignore_index=True) if non_empty else links.assign(priority=EXACT_PRIORITY)
    ).reset_index(drop=True)
    if decided:  # a steward split beats any automatic link between the same two records
        split_pairs = set(zip(cannot_left.tolist(), cannot_right.tolist(), strict=True)) & decided
        key = list(zip(all_links["left"].tolist(), all_links["right"].tolist(), strict=True))
        keep = [k not in split_pairs or r == "steward" for k, r in zip(key, all_links["rule"], strict=True)]
        all_links = all_links[pd.Series(keep, index=all_links.index, dtype=bool)]  # a list of none picks no column
        all_links = all_links.reset_index(drop=True)
    records["cluster"], refused = cluster_guarded(len(records), all_links, cannot_left, cannot_right)
    accepted = all_links.drop(index=refused.index)
    hints = restore_hints(steward)
    if not hints.empty:
        columns = ["source", "source_id", "golden_id"]
        base = previous_xref[columns].astype(object) if previous_xref is not None else pd.DataFrame(columns=columns)
        previous_xref = pd.concat([base, hints], ignore_index=True)
    records["golden_id"], merges = assign_golden_ids(records, previous_xref, also_known=known_golden_ids)
    review = (
        build_review(records, pairs, refused, fuzzy.review, fuzzy.link, conflict_levels, decided)
        if fuzzy.enabled or not refused.empty
        else empty_review()
    )

    order = ("steward", "source_merge", *rules.matching.rules, "fuzzy")
    explained = explain_records(len(records), accepted, order)
    merges = _describe_merges(merges, records, explained, previous_xref)
    xref = conform(
        pd.DataFrame(
            {
                "source": records["source"],
                "source_id": records["source_id"],
                "golden_id": records["golden_id"],
                "match_rule": explained["match_rule"],
                "match_key": explained["match_key"],
            }
        ),
        XREF_COLUMNS,
    ).sort_values(["golden_id", "source", "source_id"], kind="stable", ignore_index=True)

    record_keys_frame = None
    if with_keys and keys is not None:
        record_keys_frame = _record_keys(records, all_links, keys)
    _drop(records, MATCH_KEY_COLUMNS)  # survivorship reads presentation values only
    golden, lineage, conflicts = survive(records, rules, pins=check_pins(pins, rules), as_of=as_of)
    golden["social_followers"] = golden["golden_id"].map(_social_value(records)).astype("float64")
    cluster_sizes = records.groupby("golden_id").size()
    stats: dict[str, Any] = {
        "source_records": n_input,
        "duplicate_records_dropped": n_input - len(records),
        "golden": len(golden),
        "golden_multi_source_records": int((cluster_sizes > 1).sum()),
        "matched_records": int(cluster_sizes[cluster_sizes > 1].sum()),
        "linked_pairs": len(accepted),
        "links_by_rule": {name: report.links for name, report in reports.items()},
        "source_merge_links": len(merged_in_source),
        "fuzzy_links": int((accepted["rule"] == "fuzzy").sum()),
        "steward_links": int((accepted["rule"] == "steward").sum()),
        "links_refused": len(refused),
        "scored_pairs": len(pairs),
        "blocking": blocking,
        "review_queue": len(review),
        "steward_decisions": len(steward),
        "keys_blocklisted": {name: report.keys_blocklisted for name, report in reports.items()},
        "keys_overshared": {name: report.keys_overshared for name, report in reports.items()},
        "invalid_emails": int((records["email_valid"] == False).sum()),  # noqa: E712 (nullable bool)
        "invalid_phones": int((records["phone_valid"] == False).sum()),  # noqa: E712
        "conflicts": len(conflicts),
        "merges": sum(1 for m in merges if m["event"] == "merge"),
        "splits": sum(1 for m in merges if m["event"] == "split"),
        "golden_deleted": int(golden["is_deleted"].sum()),
    }
    return ReconcileResult(golden, xref, lineage, conflicts, merges, stats, review, pairs, record_keys_frame, verified)


def _record_keys(records: pd.DataFrame, links: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """Per record: identity, golden ID, link component (refused links included) and key hashes.

    The component is named by a hash of its smallest member, so it means the same in every run.
    """
    import numpy as np

    from crmhub.reconcile.match import cluster

    smallest = cluster(len(records), links)
    ident = records["source"].astype(str) + "\x1f" + records["source_id"].astype(str)
    member = ident.to_numpy(dtype=object)[smallest]
    component = pd.util.hash_array(np.asarray(member, dtype=object), categorize=True).astype(np.uint64)
    frame = pd.DataFrame(
        {
            "source": records["source"].astype(str).to_numpy(),
            "source_id": records["source_id"].astype(str).to_numpy(),
            "golden_id": records["golden_id"].astype(str).to_numpy(),
            "component": component,
        }
    )
    return pd.concat([frame, keys.reset_index(drop=True)], axis=1)


def match_keys(contacts: pd.DataFrame, rules: PrecedenceRules) -> pd.DataFrame:
    """``source``, ``source_id`` and the key hashes (:mod:`crmhub.reconcile.scope`) of ``contacts``, as
    :func:`reconcile` derives them: how an incremental run finds what a changed record may link to."""
    import numpy as np

    from crmhub.reconcile.scope import key_columns, record_keys

    if contacts.empty:
        empty = {c: pd.Series(dtype=object) for c in ("source", "source_id")}
        empty.update({c: pd.Series(dtype=np.uint64) for c in key_columns(rules.matching)})
        return pd.DataFrame(empty)
    frame = (
        _check_contacts(contacts)
        .sort_values(["source", "source_id", "source_updated_at"], kind="stable", na_position="first")
        .drop_duplicates(["source", "source_id"], keep="last")
        .reset_index(drop=True)
    )
    records = normalize_contacts(frame, phone_regions=rules.phone_regions, source_countries=rules.countries)
    keys, _ = record_keys(records, rules.matching)
    identity = records[["source", "source_id"]].astype(str).reset_index(drop=True)
    return pd.concat([identity, keys.reset_index(drop=True)], axis=1)


def _drop(frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
    """Delete ``columns`` in place (no copy of the other columns, unlike ``DataFrame.drop``)."""
    for col in columns:
        if col in frame.columns:
            del frame[col]


def _social_value(records: pd.DataFrame) -> pd.Series:
    """Highest follower count per golden id among its records (a person's largest audience)."""
    if "social_followers" not in records.columns:
        return pd.Series(dtype="float64")
    followers = pd.to_numeric(records["social_followers"], errors="coerce")
    return followers.groupby(records["golden_id"]).max()


def _describe_merges(
    merges: list[dict[str, Any]], records: pd.DataFrame, explained: pd.DataFrame, previous_xref: pd.DataFrame | None
) -> list[dict[str, Any]]:
    """Add to each merge event the rule that joined the loser and the loser's records (for undo)."""
    if not merges or previous_xref is None or previous_xref.empty:
        return merges
    prev = previous_xref[["source", "source_id", "golden_id"]].dropna().astype(str)
    prev = prev.drop_duplicates(["source", "source_id"], keep="last")
    frame = records[["source", "source_id"]].astype(str).assign(rule=explained["match_rule"].to_numpy())
    frame = frame.merge(prev, on=["source", "source_id"], how="left")
    for event in merges:
        if event["event"] != "merge":
            continue
        loser = frame[frame["golden_id"] == event["from_golden_id"]]
        rules = sorted({r for value in loser["rule"] for r in str(value).split("+") if r != "singleton"})
        event["rule"] = "+".join(rules) or "unknown"
        event["loser_records"] = [[s, i] for s, i in zip(loser["source"], loser["source_id"], strict=True)]
    return merges


def attach_interactions(interactions: pd.DataFrame, xref: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(attributed, unattributed)``: interactions with their contact's ``golden_id``, and the rest.

    Lookup is by ``(source, contact_source_id)`` → xref ``(source, source_id)``. Nothing is dropped:
    the two frames together hold every input row; unattributed rows carry a ``reason``
    (``no_contact``: the source gave no contact; ``unknown_contact``: the contact is not in the xref).
    """
    frame = conform(interactions, INTERACTION_COLUMNS)
    lookup = (
        xref[["source", "source_id", "golden_id"]]
        .dropna()
        .astype(str)
        .drop_duplicates(["source", "source_id"], keep="last")
        .rename(columns={"source_id": "contact_source_id"})
    )
    keyed = frame.assign(
        _source=frame["source"].astype(str),
        _contact=frame["contact_source_id"].map(lambda v: None if v is None else str(v).strip()),
    )
    merged = keyed.merge(
        lookup.rename(columns={"source": "_source", "contact_source_id": "_contact"}),
        on=["_source", "_contact"],
        how="left",
        sort=False,
    )
    found = merged["golden_id"].notna()
    attributed = merged.loc[found, [*INTERACTION_COLUMNS, "golden_id"]].reset_index(drop=True)
    rest = merged.loc[~found, INTERACTION_COLUMNS].reset_index(drop=True)
    rest["reason"] = pd.Series(
        ["no_contact" if pd.isna(c) else "unknown_contact" for c in rest["contact_source_id"]], dtype="object"
    )
    return attributed, rest
