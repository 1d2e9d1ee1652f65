"""Rows -> COPY text format: the benchmark's prepared bare-COPY file (the loader uses binary COPY).

Values are the loader's own: None, bool, int, float, str, date, datetime (aware). Strings are
escaped per the COPY text rules; NUL cannot live in a PostgreSQL text value at all, so it becomes
U+FFFD (only garbage bodies carry it, and the RAW document keeps the original).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\ufffd"})
NULL = "\\N"


def _field(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value).translate(_ESCAPES)
    if value is None:
        return NULL
    if kind is int:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is float:
        return repr(value)
    if isinstance(value, date):  # date and datetime: ISO-8601, offsets kept
        return value.isoformat()
    return str(value).translate(_ESCAPES)


def encode_rows(rows: Iterable[Sequence[Any]]) -> bytes:
    field = _field
    return "".join(["\t".join(map(field, row)) + "\n" for row in rows]).encode()
