"""The upstream query string: the fast path must give exactly what `urlencode` gives."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickettrak.proxy.upstream import query_string

CASES: list[dict[str, str]] = [
    {
        "origin": "MOW",
        "destination": "DXB",
        "departure_at": "2026-12-01",
        "one_way": "true",
        "currency": "rub",
        "market": "ru",
        "limit": "30",
        "sorting": "price",
    },
    {"origin": "MOW", "x": ""},
    {"a": "b c"},  # a space: quoted as +
    {"a b": "c"},
    {"x": "1=2"},  # separators inside a value must be quoted
    {"x": "a&b"},
    {"x": "é"},
    {"x": "~._-"},
    {"x": "%41"},
    {"x": "a/b"},
]


@pytest.mark.parametrize("query", CASES)
def test_query_string_is_urlencode(query: dict[str, str]) -> None:
    assert query_string(query) == urlencode(query)


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=12), max_size=6))
@settings(max_examples=300, deadline=None)
def test_query_string_is_urlencode_for_any_text(query: dict[str, str]) -> None:
    assert query_string(query) == urlencode(query)
