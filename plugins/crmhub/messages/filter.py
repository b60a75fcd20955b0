"""Interaction filter (issue 14): which social messages enter the customer history, and why the rest not.

Core (no Airflow). ``include/config/interactions.yaml`` says which messages enter ``core.interactions``:
from known contacts, from prospects, by intent, by network, without the brand's own posts and spam.
:func:`understand_and_filter` classifies every social message (:mod:`crmhub.messages`), applies the rules
in a fixed order and returns the kept interactions, every left-out message with its rule, the
understanding of each social message (with its evidence, never its text) and the counts per rule.
Nothing disappears silently: kept + left out = every input row, the unattributed ones included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from crmhub import paths
from crmhub.errors import ConfigError
from crmhub.messages.core import INTENTS, Classifier, classify_frame, default_classifier
from crmhub.yamlfile import read_yaml

#: Channels that are social networks (the marts use the same list).
SOCIAL_CHANNELS: tuple[str, ...] = ("twitter", "x", "facebook", "instagram", "linkedin")
#: Filter rules in the order they are checked; the first that applies is a message's reason.
RULES: tuple[str, ...] = (
    "no_contact",
    "unknown_contact",
    "brand_post",
    "spam",
    "network",
    "intent",
    "prospect",
    "known_contact",
)
#: ``core.interaction_understanding`` columns (keyed like ``core.interactions``).
UNDERSTANDING_COLUMNS: list[str] = [
    "source",
    "source_id",
    "golden_id",
    "occurred_at",
    "channel",
    "direction",
    "language",
    "intent",
    "complaint",
    "sentiment",
    "explanation",
    "model",
    "kept",
    "filter_rule",
]
INTERACTIONS_CONFIG = paths.CONFIG_DIR / "interactions.yaml"


@dataclass(frozen=True)
class InteractionFilter:
    """The rules of ``interactions.yaml`` (defaults: everything but brand posts and spam enters)."""

    known_contacts: bool = True
    prospects: bool = True
    intents: tuple[str, ...] = INTENTS
    networks: tuple[str, ...] = SOCIAL_CHANNELS
    exclude_brand_posts: bool = True
    exclude_spam: bool = True
    social_sources: tuple[str, ...] = ("hootsuite", "sprout")


def load_interaction_filter(path: Path | str | None = None) -> InteractionFilter:
    """Read and validate ``interactions.yaml``; errors name the file and the key."""
    path = Path(path) if path is not None else INTERACTIONS_CONFIG
    doc = read_yaml(path)
    if doc is None:
        return InteractionFilter()
    if not isinstance(doc, dict):
        raise ConfigError(path, "(file)", "must be a mapping with include, exclude and social_sources")
    _no_unknown(path, "", doc, {"include", "exclude", "social_sources"})
    include = _mapping(path, "include", doc.get("include", {}))
    exclude = _mapping(path, "exclude", doc.get("exclude", {}))
    _no_unknown(path, "include.", include, {"known_contacts", "prospects", "intents", "networks"})
    _no_unknown(path, "exclude.", exclude, {"brand_posts", "spam"})
    default = InteractionFilter()
    intents = _strings(path, "include.intents", include.get("intents", list(default.intents)))
    unknown = [i for i in intents if i not in INTENTS]
    if unknown:
        raise ConfigError(path, "include.intents", f"unknown intent {unknown[0]!r} (known: {', '.join(INTENTS)})")
    networks = [n.lower() for n in _strings(path, "include.networks", include.get("networks", list(SOCIAL_CHANNELS)))]
    return InteractionFilter(
        known_contacts=_flag(path, "include.known_contacts", include.get("known_contacts", True)),
        prospects=_flag(path, "include.prospects", include.get("prospects", True)),
        intents=tuple(intents),
        networks=tuple(networks),
        exclude_brand_posts=_flag(path, "exclude.brand_posts", exclude.get("brand_posts", True)),
        exclude_spam=_flag(path, "exclude.spam", exclude.get("spam", True)),
        social_sources=tuple(_strings(path, "social_sources", doc.get("social_sources", list(default.social_sources)))),
    )


def _no_unknown(path: Path, prefix: str, doc: Mapping[str, Any], known: set[str]) -> None:
    for key in doc:
        if key not in known:
            raise ConfigError(path, f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(known))})")


def _mapping(path: Path, key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(path, key, f"must be a mapping, not {type(value).__name__}")
    return value


def _flag(path: Path, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, key, f"must be true or false, not {value!r}")
    return value


def _strings(path: Path, key: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(path, key, "must be a list of names")
    return [v.strip() for v in value]


@dataclass
class FilterResult:
    """What :func:`understand_and_filter` decided for one run."""

    kept: pd.DataFrame  #: attributed interactions that enter core.interactions (with golden_id)
    left_out: pd.DataFrame  #: every other input row, with ``rule``
    understanding: pd.DataFrame  #: one row per social message (UNDERSTANDING_COLUMNS)
    counts: dict[str, int] = field(default_factory=dict)  #: left-out messages per rule
    counts_by_channel: list[dict[str, Any]] = field(default_factory=list)  #: rule, channel, messages

    def summary(self) -> dict[str, Any]:
        """Counts only (no personal data), for the run summary."""
        return {
            "kept": len(self.kept),
            "left_out": len(self.left_out),
            "left_out_by_rule": dict(sorted(self.counts.items())),
            "understood": len(self.understanding),
        }


def is_social(channel: pd.Series) -> pd.Series:
    return channel.astype("string").str.lower().isin(SOCIAL_CHANNELS).fillna(False).astype(bool)


def understand_and_filter(
    attached: pd.DataFrame,
    unattributed: pd.DataFrame,
    xref: pd.DataFrame,
    rules: InteractionFilter | None = None,
    *,
    classifier: Classifier | None = None,
) -> FilterResult:
    """Classify the social messages of ``attached`` + ``unattributed`` and apply the filter rules.

    ``attached`` carries ``golden_id``; ``unattributed`` a ``reason`` (``no_contact``/``unknown_contact``,
    :func:`crmhub.reconcile.pipeline.attach_interactions`); ``xref`` tells which sources know each person
    (a prospect is known only to ``social_sources``). Inbound social messages are classified with
    ``brand_replied`` (an outbound message of the same source and thread exists).
    """
    rules = rules or InteractionFilter()
    a = attached.reset_index(drop=True).copy()
    u = unattributed.reset_index(drop=True).copy()
    a["_rule"] = None
    u["_rule"] = u["reason"].astype(object) if "reason" in u.columns else "no_contact"
    if "golden_id" not in u.columns:
        u["golden_id"] = None
    frame = pd.concat([a, u.drop(columns=["reason"], errors="ignore")], ignore_index=True)
    if frame.empty:
        empty_left = frame.drop(columns="_rule").assign(rule=pd.Series(dtype=object))
        return FilterResult(a.drop(columns="_rule"), empty_left, pd.DataFrame(columns=UNDERSTANDING_COLUMNS))
    social = is_social(frame["channel"])
    direction = frame["direction"].astype("string").str.lower().fillna("")
    inbound = social & direction.eq("inbound").to_numpy()
    brand_post = (
        social
        & direction.eq("outbound").to_numpy()
        & frame["interaction_type"].astype("string").str.lower().eq("post").fillna(False).to_numpy()
    )

    # understanding of every inbound social message (kept or not), with the evidence
    thread = frame["source"].astype(str) + "\x1f" + frame["thread_id"].astype("string").fillna("")
    replied_threads = set(thread[social & direction.eq("outbound").to_numpy()])
    inbound_rows = frame[inbound]
    understood = classify_frame(
        inbound_rows[["text", "channel"]].assign(brand_replied=thread[inbound].isin(replied_threads).to_numpy()),
        classifier=classifier,
    )
    intent = understood["intent"].reindex(frame.index).astype(object)
    spam_flags = pd.Series(
        [
            i == "other" and bool((e.get("cues") or {}).get("spam") or (e.get("cues") or {}).get("job"))
            for i, e in zip(understood["intent"], understood["explanation"], strict=True)
        ],
        index=understood.index,
        dtype=bool,
    )
    spam = spam_flags.reindex(frame.index, fill_value=False).astype(bool)

    # who knows the person: a prospect is known only to the social sources
    current = xref[["source", "golden_id"]].dropna().astype(str)
    crm_known = set(current.loc[~current["source"].isin(rules.social_sources), "golden_id"])
    golden = frame["golden_id"].astype(object)
    has_golden = golden.notna()
    prospect = has_golden & ~golden.isin(crm_known)

    rule = frame["_rule"].astype(object).copy()
    pending = rule.isna()

    def apply(name: str, mask: pd.Series) -> None:
        hit = pending & mask.astype(bool)
        rule[hit] = name
        pending[hit] = False

    if rules.exclude_brand_posts:
        # the brand's own posts are counted as brand posts even when they name nobody (unattributed)
        posts = pd.Series(brand_post, index=frame.index)
        rule[posts & rule.isin(["no_contact", "unknown_contact"])] = "brand_post"
        apply("brand_post", posts)
    if rules.exclude_spam:
        apply("spam", spam)
    apply(
        "network",
        pd.Series(social, index=frame.index)
        & ~frame["channel"].astype("string").str.lower().isin(rules.networks).fillna(False),
    )
    apply("intent", pd.Series(inbound, index=frame.index) & ~intent.isin(rules.intents))
    if not rules.prospects:
        apply("prospect", pd.Series(social, index=frame.index) & prospect)
    if not rules.known_contacts:
        apply("known_contact", pd.Series(social, index=frame.index) & has_golden & ~prospect)

    kept_mask = rule.isna()
    kept = frame.loc[kept_mask].drop(columns="_rule").reset_index(drop=True)
    left_out = frame.loc[~kept_mask].drop(columns="_rule").assign(rule=rule[~kept_mask]).reset_index(drop=True)

    u_rows = frame[inbound]
    understanding = pd.DataFrame(
        {
            "source": u_rows["source"].astype(str).to_numpy(),
            "source_id": u_rows["source_id"].astype(str).to_numpy(),
            "golden_id": u_rows["golden_id"].astype(object).where(u_rows["golden_id"].notna(), None).to_numpy(),
            "occurred_at": pd.to_datetime(u_rows["occurred_at"], utc=True).to_numpy(),
            "channel": u_rows["channel"].astype("string").str.lower().to_numpy(),
            "direction": "inbound",
            "language": understood["language"].to_numpy(),
            "intent": understood["intent"].to_numpy(),
            "complaint": understood["complaint"].astype(bool).to_numpy(),
            "sentiment": understood["sentiment"].to_numpy(),
            "explanation": [json.dumps(e, sort_keys=True, ensure_ascii=False) for e in understood["explanation"]],
            "model": (classifier or default_classifier()).model_id,  # rules and model version that decided
            "kept": kept_mask[inbound].to_numpy(),
            "filter_rule": rule[inbound].astype(object).where(rule[inbound].notna(), None).to_numpy(),
        },
        columns=UNDERSTANDING_COLUMNS,
    )
    understanding["occurred_at"] = pd.to_datetime(understanding["occurred_at"], utc=True)
    counts = {str(k): int(v) for k, v in left_out["rule"].value_counts().items()}
    by_channel = (
        left_out.assign(channel=left_out["channel"].astype("string").str.lower().fillna("unknown"))
        .groupby(["rule", "channel"], dropna=False)
        .size()
        .reset_index(name="messages")
    )
    return FilterResult(
        kept=kept,
        left_out=left_out,
        understanding=understanding.drop_duplicates(["source", "source_id"], keep="last").reset_index(drop=True),
        counts=counts,
        counts_by_channel=[
            {"rule": str(r), "channel": str(c), "messages": int(m)} for r, c, m in by_channel.itertuples(index=False)
        ],
    )
