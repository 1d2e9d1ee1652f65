"""How bodies go into RAW: JSON unchanged when BSON can hold it, its exact text otherwise."""

from __future__ import annotations

import json

import bson
import pytest

from tickettrak.common.raw_store import body_json, stored_body


def test_plain_json_is_stored_parsed(fixtures_dir: object) -> None:
    from pathlib import Path

    assert isinstance(fixtures_dir, Path)
    for path in sorted(fixtures_dir.glob("*.json")):
        content = path.read_bytes()
        stored = stored_body(content)
        assert stored.body_format == "json", path.name
        assert stored.body == json.loads(content)
        # What BSON gives back is the same JSON.
        assert bson.decode(bson.encode({"b": stored.body}))["b"] == json.loads(content)


@pytest.mark.parametrize(
    "text",
    [
        '{"$where": 1}',
        '{"data": {"a.b": 1}}',
        '{"big": 18446744073709551616}',
        '{"x": NaN}',
        '{"x": -Infinity}',
        '{"x": 1e999}',
        '{"a": 1, "a": 2}',
        '{"a" : 1, "a" : 2}',
        '{"s": "x\\":", "a": 1, "a": 2}',
        '{"d": {"k": "\\u0024"}, "\\u0024x": 1}',
        '{"": 1}',
        '{"s": "\\ud800"}',
        "[" * 120 + "]" * 120,
    ],
)
def test_json_that_bson_would_change_is_kept_as_text(text: str) -> None:
    stored = stored_body(text.encode())
    assert stored.body_format == "json_text"
    assert stored.body_text == text
    document = {"response": {"body_format": "json_text", "body_text": stored.body_text}}
    assert json.dumps(body_json(document)) == json.dumps(json.loads(text))


def test_other_bodies() -> None:
    assert stored_body(None).body_format == "none"
    assert stored_body(b"").body_format == "empty"
    html = stored_body(b"<html>502 Bad Gateway</html>")
    assert (html.body_format, html.body_text) == ("text", "<html>502 Bad Gateway</html>")
    assert stored_body(b'{"data": [1, 2').body_format == "text"
    latin = stored_body("prix: 10 €".encode("cp1252"), "cp1252")
    assert latin.body_text == "prix: 10 €"
    broken = stored_body(b"\xff\xfe not utf-8")
    assert broken.body_format == "text" and "not utf-8" in (broken.body_text or "")
    assert stored_body(b"null").body_format == "json"
    with pytest.raises(ValueError, match="not JSON"):
        body_json({"response": {"body_format": "text", "body_text": "x"}})


@pytest.mark.parametrize(
    "text", ['{"a" : 1, "b" : {"c" : [1.5, "x.y"]}}', '{"q": "say \\"hi\\": ok", "n": 2}']
)
def test_the_exact_path_still_accepts_plain_json(text: str) -> None:
    stored = stored_body(text.encode())
    assert (stored.body_format, stored.body) == ("json", json.loads(text))
