"""One RAW batch, as BSON bytes -> what the writer sends to PostgreSQL: COPY payloads and quarantine.

This is the loader's CPU work (decode, parse, deduplicate, encode), done in a worker process
(pipeline.py) while the parent only streams bytes to PostgreSQL; a pure function of its input,
so the parent's transactions and crash semantics do not depend on where it ran.

The payloads are PostgreSQL's binary COPY format (signature, rows, trailer), formatted by
psycopg's own C row formatter with the column types of the target tables: the bytes are exactly
what `Copy.write_row` would have sent, made without a connection (`copy.write(payload)` in the
writer). The same payload can go to the target table or to its staging twin (same columns).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import bson
from psycopg import adapters
from psycopg._copy_base import BinaryFormatter  # psycopg's row formatter (C), no public export
from psycopg.adapt import Transformer
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from tickettrak.common.raw_store import RawBson
from tickettrak.loader.parse import (
    REQUEST_LOG_COLUMNS,
    TICKET_COLUMNS,
    ParsedDocument,
    Quarantined,
    Reason,
    clean_text,
    parse_document,
    to_json,
)


@dataclass
class EncodedBatch:
    """One batch, ready to write in one transaction. Picklable: it crosses the worker's pipe."""

    max_seq: int  # the watermark once this batch is written
    documents: int  # documents to write (not loaded yet)
    already_loaded: int  # documents of the batch skipped: already in request_logs (overlap re-read)
    tickets: int  # ticket rows in the payload (deduplicated by key)
    request_logs_copy: bytes
    tickets_copy: bytes
    # load_errors rows (ERROR_COLUMNS), the fragment already JSON text: only strings and numbers
    # cross the pipe (a fragment is any JSON an API sent: pickling a deeply nested one fails)
    errors: list[tuple[Any, ...]] = field(default_factory=list)
    quarantined: Counter[str] = field(default_factory=Counter)


class BatchEncoder:
    """Picklable settings of the encoding: the target column types, how RAW decodes, and which
    documents of the overlap window are already loaded (asked once, before the first batch: one
    loader runs at a time, so the answer cannot change during the run)."""

    def __init__(
        self,
        request_log_types: Sequence[str],
        ticket_types: Sequence[str],
        codec_options: Any,
        loaded_ids: frozenset[str] = frozenset(),
    ) -> None:
        self.request_log_types = list(request_log_types)
        self.ticket_types = list(ticket_types)
        self.codec_options = codec_options
        self.loaded_ids = loaded_ids

    def encode(self, raw: Sequence[RawBson]) -> EncodedBatch:
        parsed = [parse_safely(bson.decode(doc.data, codec_options=self.codec_options)) for doc in raw]
        fresh = [doc for doc in parsed if doc.raw_id not in self.loaded_ids]
        tickets = dedupe(fresh)
        logs = [_request_log_row(doc.request_log) for doc in fresh]
        batch = EncodedBatch(
            max_seq=max(doc.seq for doc in raw),
            documents=len(fresh),
            already_loaded=len(parsed) - len(fresh),
            tickets=len(tickets),
            request_logs_copy=_payload(self.request_log_types, logs),
            tickets_copy=_payload(self.ticket_types, tickets.values()),
        )
        for doc in fresh:
            batch.errors.extend(error_row(error) for error in doc.errors)
            batch.quarantined.update(error.reason for error in doc.errors)
        return batch


ERROR_COLUMNS = ("raw_id", "raw_seq", "item_path", "reason", "detail", "fragment", "fragment_text")


def error_row(error: Quarantined) -> tuple[Any, ...]:
    """A quarantined item as its aviasales.load_errors row (ERROR_COLUMNS), fragment as JSON text."""
    fragment, text = None, error.fragment_text
    if error.fragment is not None:
        try:
            fragment = to_json(error.fragment)
        except (RecursionError, ValueError, TypeError) as why:  # nested past what JSON writers take
            text = f"fragment not kept as JSON ({type(why).__name__}); the RAW document holds it"
    return (
        error.raw_id,
        error.raw_seq,
        error.item_path,
        error.reason,
        clean_text(error.detail),
        fragment,
        clean_text(text) if text is not None else None,
    )


def _payload(types: list[str], rows: Any) -> bytes:
    """Rows -> one binary COPY stream, formatted as psycopg's Copy.write_row formats them."""
    transformer = Transformer()  # the global adapters: the built-in types are all we use
    transformer.set_dumper_types([adapters.types.get_oid(t) for t in types], Format.BINARY)
    formatter = BinaryFormatter(transformer)
    out = bytearray()
    for row in rows:
        out += formatter.write_row(row)
    out += formatter.end()  # the trailer (and the signature, if no row was written)
    return bytes(out)


def _raw_json(text: str) -> str:
    return text


def _jsonb(text: str | None) -> Jsonb | None:
    # Our JSON is already serialised (to_json): hand it to the jsonb dumper unchanged.
    return None if text is None else Jsonb(text, dumps=_raw_json)


_LOG_JSONB = [i for i, c in enumerate(REQUEST_LOG_COLUMNS) if c in ("query", "raw")]


def _request_log_row(row: tuple[Any, ...]) -> list[Any]:
    values = list(row)
    for index in _LOG_JSONB:
        values[index] = _jsonb(values[index])
    return values


_KEY = (TICKET_COLUMNS.index("observed_date"), TICKET_COLUMNS.index("offer_id"))
_RANK = (TICKET_COLUMNS.index("raw_seq"), TICKET_COLUMNS.index("price"), TICKET_COLUMNS.index("item_path"))


def dedupe(docs: Sequence[ParsedDocument]) -> dict[tuple[Any, Any], tuple[Any, ...]]:
    """One row per ticket key: the highest raw_seq, then (one body listing an offer twice) the
    cheaper price, then the smaller item_path. Always done here, never by SQL ordering, so a clean
    run and a rerun after a crash (other batch boundaries) choose the same row."""
    day, offer = _KEY
    seq, price, path = _RANK
    best: dict[tuple[Any, Any], tuple[Any, ...]] = {}
    for doc in docs:
        for row in doc.tickets:
            key = (row[day], row[offer])
            held = best.get(key)
            if held is None or (-row[seq], row[price], row[path]) < (-held[seq], held[price], held[path]):
                best[key] = row
    return best


def parse_safely(doc: dict[str, Any]) -> ParsedDocument:
    try:
        return parse_document(doc)
    except Exception as error:  # a parser bug must not stop the load: quarantine the document
        return _unparseable(doc, error)


def _unparseable(doc: dict[str, Any], error: Exception) -> ParsedDocument:
    raw_id, seq = str(doc.get("_id")), int(doc["seq"])
    known = {
        "raw_id": raw_id,
        "raw_seq": seq,
        "success": False,
        "error": f"unparseable: {error}",
        "raw": to_json(doc),
    }
    row = [known.get(column) for column in REQUEST_LOG_COLUMNS]
    issue = Quarantined(raw_id, seq, "", Reason.BAD_DOCUMENT, f"{type(error).__name__}: {error}")
    return ParsedDocument(raw_id, seq, tuple(row), [], [issue])
