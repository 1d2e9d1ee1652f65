"""The RAW document of one exchange, exactly as ARCHITECTURE.md's contract describes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tickettrak.common.endpoints import request_key
from tickettrak.common.raw_store import SCHEMA_VERSION, StoredBody, stored_body
from tickettrak.proxy.scrub import TokenScrubber
from tickettrak.proxy.upstream import Exchange


@dataclass(frozen=True)
class Recorded:
    document: dict[str, Any]
    stored: StoredBody
    content: bytes | None  # the body the client may receive: byte-equal to what RAW holds
    redacted: bool


def build_document(
    exchange: Exchange,
    *,
    request_id: str,
    run_id: str | None,
    logical_date: str | None,
    path: str,
    query: dict[str, str],
    scrubber: TokenScrubber,
) -> Recorded:
    content, redacted = (None, False) if exchange.content is None else scrubber.content(exchange.content)
    stored = stored_body(content, exchange.charset)
    response_headers = {k: scrubber.text(v) for k, v in exchange.response_headers.items()}
    document: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "request_id": request_id,
        "run_id": run_id,
        "logical_date": logical_date,
        "request_key": request_key(path, query),
        "endpoint": path,
        "request": {
            "method": "GET",
            "url": scrubber.text(exchange.url),
            "query": dict(query),
            "headers": {k: scrubber.text(v) for k, v in exchange.request_headers.items()},
        },
        "response": {
            "status": exchange.status,
            "headers": response_headers,
            "body_format": stored.body_format,
            "body": stored.body,
            "body_text": stored.body_text,
            "error": scrubber.text(exchange.error) if exchange.error else None,
            "redacted": redacted,
        },
        "timing": {
            "requested_at": exchange.requested_at,
            "received_at": exchange.received_at,
            "duration_ms": exchange.duration_ms,
        },
        "written_at": datetime.now(UTC),
    }
    return Recorded(document, stored, content, redacted)
