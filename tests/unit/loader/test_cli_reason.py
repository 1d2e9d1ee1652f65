"""`tickettrak load` ends with its reason on ONE line (psycopg appends `CONTEXT: …` lines)."""

from __future__ import annotations

import psycopg

from tickettrak.loader.cli import one_line


def test_context_lines_are_dropped_and_the_reason_stays() -> None:
    error = psycopg.DataError('timestamp out of range: "0001-01-01"\nCONTEXT:  COPY tickets, line 3\n')
    assert one_line(error) == 'timestamp out of range: "0001-01-01"'


def test_a_multi_line_message_becomes_one_line() -> None:
    assert one_line(RuntimeError("first\n  second\n")) == "first / second"
    assert one_line(RuntimeError("")) == "RuntimeError"
