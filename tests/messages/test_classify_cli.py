"""``python -m crmhub messages classify``: per-line results and errors, never stopping, counts only."""

from __future__ import annotations

import json

import pytest

from crmhub.cli import main

SURNAME = "Jansen-Vermeulen"  # would be personal data in a real message: must never reach the terminal

BAD_LINES = {
    "not JSON": ("{this is not json", "not valid JSON"),
    "no text": (json.dumps({"id": "m2"}), "no text"),
    "text not a string": (json.dumps({"id": "m3", "text": ["a", "list"]}), "text is not a string (list)"),
    "100k-character text": (json.dumps({"id": "m4", "text": "x" * 100_000}), "text too long"),
    "tags not a list": (json.dumps({"id": "m5", "text": "hallo", "tags": "klacht"}), "tags is not a list"),
    "not an object": (json.dumps(["id", "text"]), "line is not a JSON object"),
    "no id": (json.dumps({"text": "hallo daar"}), "no id"),
}


def _run(tmp_path, lines, capsys):
    src = tmp_path / "in.jsonl"
    dst = tmp_path / "out.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["messages", "classify", "--input", str(src), "--output", str(dst)])
    printed = capsys.readouterr()
    out = [json.loads(line) for line in dst.read_text(encoding="utf-8").splitlines()]
    return code, out, printed.out + printed.err


def test_classifies_each_line_with_the_required_fields(tmp_path, capsys):
    lines = [
        json.dumps({"id": "a", "text": f"Waarom is mijn factuur van {SURNAME} alweer fout??", "network": "twitter"}),
        json.dumps({"id": 7, "text": "Thanks, great help today!", "tags": ["compliment"], "lang": "en"}),
    ]
    code, out, printed = _run(tmp_path, lines, capsys)
    assert code == 0
    assert [o["id"] for o in out] == ["a", 7]
    for obj in out:
        assert {"id", "language", "intent", "complaint", "sentiment", "explanation"} <= set(obj)
    assert out[0]["intent"] == "complaint" and out[1]["intent"] == "praise"
    assert SURNAME not in printed and "factuur" not in printed
    assert "2 classified" in printed


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_a_bad_line_gives_an_error_object_and_the_file_goes_on(tmp_path, capsys, kind):
    bad, message = BAD_LINES[kind]
    good_before = json.dumps({"id": "before", "text": "Hoe reset ik mijn modem?"})
    good_after = json.dumps({"id": "after", "text": "Geen internet sinds vanochtend!"})
    code, out, printed = _run(tmp_path, [good_before, bad, good_after], capsys)
    assert code == 0
    assert len(out) == 3
    assert out[0]["id"] == "before" and out[2]["id"] == "after" and "intent" in out[2]
    assert out[1]["line"] == 2 and message in out[1]["error"]
    assert "1 error(s)" in printed and "2 classified" in printed


def test_all_bad_kinds_in_one_file_keep_going(tmp_path, capsys):
    lines = [bad for bad, _ in BAD_LINES.values()] + [json.dumps({"id": "last", "text": "Top service!"})]
    code, out, printed = _run(tmp_path, lines, capsys)
    assert code == 0
    assert sum("error" in o for o in out) == len(BAD_LINES)
    assert out[-1]["id"] == "last" and out[-1]["intent"] == "praise"
    assert "x" * 50 not in printed


def test_unopenable_input_exits_2(tmp_path, capsys):
    code = main(["messages", "classify", "--input", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "o")])
    assert code == 2
    assert "cannot open input" in capsys.readouterr().err
