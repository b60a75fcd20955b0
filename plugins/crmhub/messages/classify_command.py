"""``python -m crmhub messages classify``: understand a JSONL file of social messages, line by line.

Each input line is a JSON object with ``id`` and ``text`` and optionally ``network``, ``lang``, ``tags``
(a list of strings), ``brand_replied``, ``open_case``, ``open_deal``. Each output line is either
``{"id", "language", "intent", "complaint", "sentiment", "explanation"}`` or, for a line that cannot be
classified, ``{"line": n, "id": ..., "error": "..."}``; a bad line never stops the file. The terminal gets
counts only, never message text. Exit 0 unless the input cannot be opened (2).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any, TextIO

from crmhub.command_registry import Handler, command
from crmhub.errors import CrmHubError

#: longest text classified; longer lines are rejected with an error (a message is at most a few thousand)
MAX_TEXT = 20_000
_BOOL_FIELDS = ("brand_replied", "open_case", "open_deal")


def _ident(obj: Any) -> Any:
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str | int) and not isinstance(value, bool) else None


def _validate(obj: Any) -> str | None:
    """The reason this decoded line cannot be classified, or None."""
    if not isinstance(obj, dict):
        return "line is not a JSON object"
    if "text" not in obj or obj["text"] is None:
        return "no text"
    text = obj["text"]
    if not isinstance(text, str):
        return f"text is not a string ({type(text).__name__})"
    if not text.strip():
        return "text is empty"
    if len(text) > MAX_TEXT:
        return f"text too long ({len(text)} characters, limit {MAX_TEXT})"
    if "\x00" in text:
        return "text contains a NUL character"
    tags = obj.get("tags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        return "tags is not a list of strings"
    for name in ("network", "lang"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            return f"{name} is not a string"
    for name in _BOOL_FIELDS:
        if obj.get(name) is not None and not isinstance(obj[name], bool):
            return f"{name} is not true/false"
    return None


def classify_lines(lines: TextIO, counts: Counter[str]) -> Iterator[dict[str, Any]]:
    """One output object per non-blank input line (results and per-line errors)."""
    from crmhub.messages import default_classifier

    clf = default_classifier()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        counts["lines"] += 1
        try:
            obj = json.loads(line)
        except ValueError:
            counts["errors"] += 1
            yield {"line": number, "id": None, "error": "not valid JSON"}
            continue
        reason = _validate(obj)
        if reason is None and _ident(obj) is None:
            reason = "no id (a string or number)"
        if reason:
            counts["errors"] += 1
            yield {"line": number, "id": _ident(obj), "error": reason}
            continue
        try:
            result = clf.classify(
                obj["text"],
                network=obj.get("network"),
                lang=obj.get("lang"),
                tags=obj.get("tags") or (),
                brand_replied=obj.get("brand_replied"),
                open_case=obj.get("open_case"),
                open_deal=obj.get("open_deal"),
            )
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the file
            counts["errors"] += 1
            yield {"line": number, "id": _ident(obj), "error": f"classification failed: {type(exc).__name__}"}
            continue
        counts["classified"] += 1
        counts[f"intent:{result.intent}"] += 1
        counts[f"language:{result.language}"] += 1
        yield {"id": obj["id"], **result.to_dict()}


@command("messages", "understand social messages: language, intent, complaint, sentiment (JSONL in, JSONL out)")
def _messages(parser: argparse.ArgumentParser) -> Handler:
    sub = parser.add_subparsers(dest="messages_command", required=True, metavar="ACTION")
    child = sub.add_parser("classify", help="classify a JSONL file of messages ({id, text, ...} per line)")
    child.add_argument("--input", required=True, metavar="IN.jsonl", help="one JSON object per line: id, text, ...")
    child.add_argument("--output", required=True, metavar="OUT.jsonl", help="one result or error object per line")

    def run(args: argparse.Namespace) -> int:
        try:
            source = open(args.input, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError as exc:
            raise CrmHubError(f"cannot open input {args.input}: {exc.strerror or exc}") from exc
        counts: Counter[str] = Counter()
        with source, open(args.output, "w", encoding="utf-8") as out:
            for obj in classify_lines(source, counts):
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        summary = {k: v for k, v in sorted(counts.items()) if ":" in k}
        print(
            f"messages: {counts['lines']} line(s), {counts['classified']} classified, "
            f"{counts['errors']} error(s); wrote {args.output}"
        )
        print(json.dumps(summary, sort_keys=True))
        return 0

    return run
