"""CSV and JSON exports of the marts, streamed (mart_price_dynamics can hold millions of rows).

CSV: one file per mart in a directory, header = the mart's columns. JSON: one document
`{"generated_at": ..., "marts": {name: [row, ...]}}`, numbers as JSON numbers, dates as ISO text.
Both are written to a temporary file first and renamed, so a failed export leaves no half file.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import psycopg

from tickettrak.report import fmt
from tickettrak.report.data import Route
from tickettrak.report.marts import MARTS, Row, select_rows


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def export_csv(
    conn: psycopg.Connection[Row],
    columns: dict[str, tuple[str, ...]],
    directory: Path,
    routes: Sequence[Route] = (),
) -> dict[str, int]:
    """Write `<directory>/<mart>.csv` for every mart; returns the row counts."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, mart in MARTS.items():
        target = directory / f"{name}.csv"
        partial = target.with_suffix(".csv.partial")
        with partial.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns[name])
            n = 0
            for row in select_rows(conn, mart, columns[name], routes):
                writer.writerow([fmt.raw(row[c]) for c in columns[name]])
                n += 1
        os.replace(partial, target)
        counts[name] = n
    return counts


def export_json(
    conn: psycopg.Connection[Row],
    columns: dict[str, tuple[str, ...]],
    target: Path,
    generated_at: datetime,
    routes: Sequence[Route] = (),
) -> dict[str, int]:
    """Write every mart into one JSON document; returns the row counts."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    counts: dict[str, int] = {}
    with partial.open("w", encoding="utf-8") as handle:
        handle.write(f'{{"generated_at": {json.dumps(generated_at.isoformat())}, "marts": {{')
        for i, (name, mart) in enumerate(MARTS.items()):
            handle.write(("," if i else "") + f"\n{json.dumps(name)}: [")
            counts[name] = _write_rows(handle, select_rows(conn, mart, columns[name], routes), columns[name])
            handle.write("]")
        handle.write("\n}}\n")
    os.replace(partial, target)
    return counts


def _write_rows(handle: TextIO, rows: Any, columns: Sequence[str]) -> int:
    n = 0
    for row in rows:
        handle.write(
            ("," if n else "")
            + "\n "
            + json.dumps({c: _json_value(row[c]) for c in columns}, ensure_ascii=False)
        )
        n += 1
    return n
