"""Precedence (survivorship) rules: load ``include/config/precedence.yaml`` and validate it strictly.

The file is written by data stewards, so every mistake is reported as a :class:`ConfigError` naming
the file and the exact key path (``attributes.email.sources[1]``) instead of surfacing later as an
odd golden value. Unknown keys are errors too: a misspelt option must not be silently ignored.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crmhub.errors import ConfigError
from crmhub.paths import CONFIG_DIR, PROJECT_DIR
from crmhub.reconcile.fuzzy import BLOCKING_KEYS
from crmhub.reconcile.match import RULES as MATCH_RULES
from crmhub.reconcile.match import Blocklist, FuzzyConfig, MatchConfig
from crmhub.reconcile.match_model import load_model
from crmhub.yamlfile import read_yaml

DEFAULT_RULES_FILE = CONFIG_DIR / "precedence.yaml"

#: Attribute groups survive as a block: all their golden columns come from one source record.
ATTRIBUTE_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "name_prefix", "last_name"),
    "email": ("email",),
    "phone": ("phone",),
    "address": ("street", "house_number", "house_number_addition", "postcode", "city", "country"),
    "social": ("social_network", "social_handle"),
    "company": ("company",),
}

#: Attributes whose normalizer yields a validity flag (the column ``valid_beats_invalid`` reads).
VALIDITY_FLAGS: dict[str, str] = {"email": "email_valid", "phone": "phone_valid"}

RULE_TYPES = ("source_priority", "most_recent", "most_complete", "most_frequent")


@dataclass(frozen=True)
class AttributeRule:
    """How one attribute (group) is chosen among a cluster's records."""

    name: str
    columns: tuple[str, ...]
    rule: str  # one of RULE_TYPES
    sources: tuple[str, ...]  # candidate sources; for source_priority also the order
    valid_beats_invalid: bool = False
    #: Trust decay: a value's trust halves every ``half_life_days`` of age (business time); ``None`` = off.
    half_life_days: float | None = None
    #: Per-source trust (0..1] that decay starts from; sources not named start at 1.0.
    trust: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The rule as written to lineage and conflicts."""
        label = f"trust_decay+{self.rule}" if self.half_life_days is not None else self.rule
        return f"valid_beats_invalid+{label}" if self.valid_beats_invalid else label


@dataclass(frozen=True)
class PrecedenceRules:
    """The parsed rules file."""

    sources: tuple[str, ...]
    attributes: dict[str, AttributeRule]
    matching: MatchConfig = field(default_factory=MatchConfig)
    phone_regions: dict[str, str] = field(default_factory=dict)
    file: str = "<memory>"
    #: Country of a source's addresses when a record names none (``countries:``), for address matching.
    countries: dict[str, str] = field(default_factory=dict)


_TOP_KEYS = {"version", "sources", "phone_regions", "countries", "matching", "attributes"}
_ATTRIBUTE_KEYS = {"rule", "sources", "valid_beats_invalid", "trust_decay"}
_DECAY_KEYS = {"half_life_days", "trust"}
_MATCHING_KEYS = {"rules", "max_records_per_key", "blocklist", "use_default_blocklist", "fuzzy"}
_FUZZY_KEYS = {
    "enabled", "link", "review", "max_block_size", "handle_name", "weights", "model", "cannot_link", "blocking",
    "name_frequency",
}  # fmt: skip
_NAME_LEVELS = ("exact", "close", "initial", "similar_first", "partial", "same_first", "same_last", "different")


class _Reader:
    """Small helpers that raise ConfigError with the file and key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, reason: str) -> ConfigError:
        return ConfigError(self.file, key, reason)

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a mapping, got {type(value).__name__}")
        for k in value:
            if k not in allowed:
                raise self.fail(
                    f"{key}.{k}" if key != "(root)" else str(k), f"unknown key; allowed: {', '.join(sorted(allowed))}"
                )
        return value

    def string_list(self, value: Any, key: str, *, non_empty: bool = True) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a list, got {type(value).__name__}")
        if non_empty and not value:
            raise self.fail(key, "must not be empty")
        seen: set[str] = set()
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{key}[{i}]", f"must be a non-empty string, got {item!r}")
            if item in seen:
                raise self.fail(f"{key}[{i}]", f"duplicate value {item!r}")
            seen.add(item)
        return list(value)


def load_rules(path: str | Path | None = None) -> PrecedenceRules:
    """Read and validate a rules file (default: ``include/config/precedence.yaml``)."""
    file = Path(path) if path is not None else DEFAULT_RULES_FILE
    try:
        data = read_yaml(file)
    except ConfigError as exc:
        if exc.key.startswith("line"):  # this file has always reported syntax errors on its "(file)" key
            raise ConfigError(str(file), "(file)", f"{exc.reason} ({exc.key})") from exc
        raise
    return parse_rules(data, str(file))


def parse_rules(data: Any, file: str = "<memory>") -> PrecedenceRules:
    """Validate an already-parsed rules document (also used by tests and a future dry-run)."""
    r = _Reader(file)
    if data is None:
        raise r.fail("(root)", "file is empty")
    doc = r.mapping(data, "(root)", _TOP_KEYS)
    if doc.get("version", 1) != 1:
        raise r.fail("version", f"unsupported version {doc['version']!r}; this hub reads version 1")
    if "sources" not in doc:
        raise r.fail("sources", "missing: list the source names the rules may refer to")
    sources = r.string_list(doc["sources"], "sources")

    regions: dict[str, str] = {}
    if "phone_regions" in doc:
        raw_regions = r.mapping(doc["phone_regions"], "phone_regions", set(sources))
        for src, region in raw_regions.items():
            if not (isinstance(region, str) and len(region) == 2 and region.isalpha()):
                raise r.fail(f"phone_regions.{src}", f"must be an ISO country code like 'NL', got {region!r}")
            regions[src] = region.upper()

    countries: dict[str, str] = {}
    if "countries" in doc:
        raw_countries = r.mapping(doc["countries"], "countries", set(sources))
        for src, code in raw_countries.items():
            if not (isinstance(code, str) and len(code) == 2 and code.isalpha()):
                raise r.fail(f"countries.{src}", f"must be an ISO country code like 'AU', got {code!r}")
            countries[src] = code.upper()

    matching = _parse_matching(r, doc.get("matching", {}))

    if "attributes" not in doc:
        raise r.fail("attributes", "missing: say per attribute group how its golden value is chosen")
    raw_attrs = r.mapping(doc["attributes"], "attributes", set(ATTRIBUTE_GROUPS))
    missing = [g for g in ATTRIBUTE_GROUPS if g not in raw_attrs]
    if missing:
        raise r.fail(f"attributes.{missing[0]}", f"missing: every group needs a rule ({', '.join(missing)})")
    attributes = {name: _parse_attribute(r, name, raw_attrs[name], sources) for name in ATTRIBUTE_GROUPS}
    return PrecedenceRules(tuple(sources), attributes, matching, regions, file, countries)


def _parse_attribute(r: _Reader, name: str, raw: Any, sources: list[str]) -> AttributeRule:
    key = f"attributes.{name}"
    spec = r.mapping(raw, key, _ATTRIBUTE_KEYS)
    rule = spec.get("rule")
    if rule is None:
        raise r.fail(f"{key}.rule", f"missing; one of: {', '.join(RULE_TYPES)}")
    if rule not in RULE_TYPES:
        raise r.fail(f"{key}.rule", f"unknown rule {rule!r}; one of: {', '.join(RULE_TYPES)}")
    if "sources" in spec:
        chosen = r.string_list(spec["sources"], f"{key}.sources")
    elif rule == "source_priority":
        raise r.fail(f"{key}.sources", "missing: source_priority needs the sources in priority order")
    else:
        chosen = list(sources)
    for i, src in enumerate(chosen):
        if src not in sources:
            raise r.fail(f"{key}.sources[{i}]", f"unknown source {src!r}; declared sources: {', '.join(sources)}")
    vbi = spec.get("valid_beats_invalid", False)
    if not isinstance(vbi, bool):
        raise r.fail(f"{key}.valid_beats_invalid", f"must be true or false, got {vbi!r}")
    if vbi and name not in VALIDITY_FLAGS:
        raise r.fail(
            f"{key}.valid_beats_invalid",
            f"only {', '.join(VALIDITY_FLAGS)} have a validity check",
        )
    half_life, trust = None, {}
    if "trust_decay" in spec:
        decay = r.mapping(spec["trust_decay"], f"{key}.trust_decay", _DECAY_KEYS)
        half_life = decay.get("half_life_days")
        if isinstance(half_life, bool) or not isinstance(half_life, int | float) or half_life <= 0:
            raise r.fail(f"{key}.trust_decay.half_life_days", f"must be a positive number of days, got {half_life!r}")
        raw_trust = r.mapping(decay.get("trust", {}), f"{key}.trust_decay.trust", set(sources))
        for src, value in raw_trust.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
                raise r.fail(f"{key}.trust_decay.trust.{src}", f"must be a number in (0, 1], got {value!r}")
            trust[src] = float(value)
    return AttributeRule(name, ATTRIBUTE_GROUPS[name], rule, tuple(chosen), vbi, half_life, trust)


def _number(r: _Reader, value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise r.fail(key, f"must be a number, got {value!r}")
    return float(value)


def _parse_fuzzy(r: _Reader, raw: Any) -> FuzzyConfig:
    """``matching.fuzzy``: thresholds, block cap and (optionally) per-level weights."""
    defaults = FuzzyConfig()
    if raw is None:
        return defaults
    spec = r.mapping(raw, "matching.fuzzy", _FUZZY_KEYS)
    model, model_file = None, None
    if spec.get("model") is not None:
        model_file = _model_path(r, spec["model"])
        try:
            model = load_model(model_file)
        except ValueError as exc:
            raise r.fail("matching.fuzzy.model", str(exc)) from exc
        defaults = dataclasses.replace(defaults, link=model.link, review=model.review)
    for flag in ("enabled", "handle_name", "name_frequency"):
        if not isinstance(spec.get(flag, True), bool):
            raise r.fail(f"matching.fuzzy.{flag}", f"must be true or false, got {spec[flag]!r}")
    link = _number(r, spec.get("link", defaults.link), "matching.fuzzy.link")
    review = _number(r, spec.get("review", defaults.review), "matching.fuzzy.review")
    if review > link:
        raise r.fail("matching.fuzzy.review", f"must not exceed matching.fuzzy.link ({link:g}), got {review:g}")
    block = spec.get("max_block_size", defaults.max_block_size)
    if isinstance(block, bool) or not isinstance(block, int) or block < 2:
        raise r.fail("matching.fuzzy.max_block_size", f"must be a whole number >= 2, got {block!r}")
    weights = {k: dict(v) for k, v in defaults.weights.items()}
    raw_weights = r.mapping(spec.get("weights", {}), "matching.fuzzy.weights", set(weights))
    for comparison, levels in raw_weights.items():
        given = r.mapping(levels, f"matching.fuzzy.weights.{comparison}", set(weights[comparison]))
        for level, value in given.items():
            weights[comparison][level] = _number(r, value, f"matching.fuzzy.weights.{comparison}.{level}")
    blocking = _blocking(r, spec.get("blocking"))
    name_frequency = spec.get("name_frequency", False)
    if name_frequency and "name_skeleton" not in (blocking or ()):
        # The name + city weight counts namesakes over the whole population, so a run over a subset
        # (the incremental path) would count differently; name_skeleton has no stable key form in
        # crmhub.reconcile.scope, which keeps such rules on full runs. It also lets the two scripts meet.
        raise r.fail(
            "matching.fuzzy.name_frequency",
            "needs 'name_skeleton' in matching.fuzzy.blocking (list the keys: the default set plus name_skeleton)",
        )
    return FuzzyConfig(
        enabled=spec.get("enabled", True),
        link=link,
        review=review,
        max_block_size=block,
        handle_name=spec.get("handle_name", True),
        weights=weights,
        model=model,
        model_file=str(model_file) if model_file else None,
        cannot_link=_cannot_link(r, spec.get("cannot_link")),
        blocking=blocking,
        name_frequency=name_frequency,
    )


def _blocking(r: _Reader, value: Any) -> tuple[str, ...] | None:
    """``matching.fuzzy.blocking``: blocking key names (absent: the default set)."""
    if value is None:
        return None
    keys = r.string_list(value, "matching.fuzzy.blocking", non_empty=False)
    for i, key in enumerate(keys):
        if key not in BLOCKING_KEYS:
            raise r.fail(
                f"matching.fuzzy.blocking[{i}]", f"unknown blocking key {key!r}; one of: {', '.join(BLOCKING_KEYS)}"
            )
    return tuple(dict.fromkeys(keys))


def _cannot_link(r: _Reader, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    levels = r.string_list(value, "matching.fuzzy.cannot_link", non_empty=False)
    for i, level in enumerate(levels):
        if level not in _NAME_LEVELS:
            raise r.fail(
                f"matching.fuzzy.cannot_link[{i}]", f"unknown name level {level!r}; one of: {', '.join(_NAME_LEVELS)}"
            )
    return tuple(levels)


def _model_path(r: _Reader, value: Any) -> Path:
    """A model path as written in the rules file: relative to the rules file, else to the project."""
    if not isinstance(value, str) or not value.strip():
        raise r.fail("matching.fuzzy.model", f"must be a file path, got {value!r}")
    path = Path(value)
    if path.is_absolute():
        candidates = [path]
    else:
        base = Path(r.file).parent if r.file not in ("<memory>", "") else Path.cwd()
        candidates = [base / path, PROJECT_DIR / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise r.fail("matching.fuzzy.model", f"no such model file: {value!r}")


def _parse_matching(r: _Reader, raw: Any) -> MatchConfig:
    if raw is None:
        return MatchConfig()
    spec = r.mapping(raw, "matching", _MATCHING_KEYS)
    defaults = MatchConfig()
    rules = defaults.rules
    if "rules" in spec:
        rules = tuple(r.string_list(spec["rules"], "matching.rules"))
        for i, name in enumerate(rules):
            if name not in MATCH_RULES:
                raise r.fail(f"matching.rules[{i}]", f"unknown match rule {name!r}; one of: {', '.join(MATCH_RULES)}")
    limit = spec.get("max_records_per_key", defaults.max_records_per_key)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 2:
        raise r.fail("matching.max_records_per_key", f"must be a whole number >= 2, got {limit!r}")
    use_defaults = spec.get("use_default_blocklist", True)
    if not isinstance(use_defaults, bool):
        raise r.fail("matching.use_default_blocklist", f"must be true or false, got {use_defaults!r}")
    entries = r.string_list(spec.get("blocklist", []), "matching.blocklist", non_empty=False)
    fuzzy = _parse_fuzzy(r, spec.get("fuzzy"))
    return MatchConfig(rules, limit, Blocklist.from_entries(entries, include_defaults=use_defaults), fuzzy)
