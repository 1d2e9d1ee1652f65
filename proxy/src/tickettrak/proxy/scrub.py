"""Keeping the token out of everything the proxy stores, logs or returns.

The token never goes into RAW by construction (it travels only in the upstream request header,
which is not recorded). What remains is an upstream that *echoes* it (an error message quoting the
request, a debug field): then the token wins over "unchanged". Every form of it the proxy can
recognise (as is, URL-encoded, JSON-escaped, behind `\\u` escapes) is replaced by `***` in the body,
and the client receives exactly the same scrubbed body as RAW records, flagged
`response.redacted: true` in RAW and `X-TicketTrak-Redacted: token` for the client.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"


class TokenScrubber:
    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [s for s in dict.fromkeys(secrets) if s]
        variants: set[str] = set()
        for secret in self._secrets:
            variants |= {
                secret,
                quote(secret, safe=""),
                quote_plus(secret),
                json.dumps(secret)[1:-1],
                json.dumps(secret, ensure_ascii=False)[1:-1],
                secret.replace("/", "\\/"),
            }
        # Longest first, so a variant that contains another is replaced whole.
        self._text_variants = sorted(variants, key=len, reverse=True)
        self._byte_variants = [v.encode() for v in self._text_variants]

    def text(self, value: str) -> str:
        for variant in self._text_variants:
            if variant in value:
                value = value.replace(variant, MASK)
        return value

    def content(self, content: bytes) -> tuple[bytes, bool]:
        """The body with every recognisable form of a secret masked; True if anything changed.

        `\\uXXXX` escapes can spell the token without any of its byte forms: for JSON bodies with
        escapes the decoded strings are checked too, and then the body is re-serialised.
        """
        changed = False
        for variant in self._byte_variants:
            if variant in content:
                content = content.replace(variant, MASK.encode())
                changed = True
        if b"\\u" in content:
            rewritten = self._json_escapes(content)
            if rewritten is not None:
                return rewritten, True
        return content, changed

    def _json_escapes(self, content: bytes) -> bytes | None:
        try:
            parsed = json.loads(content)
        except (ValueError, RecursionError):
            return None
        decoded = json.dumps(parsed, ensure_ascii=False)
        if not any(secret in decoded for secret in self._secrets):
            return None
        return json.dumps(self._walk(parsed), ensure_ascii=False, separators=(",", ":")).encode()

    def _walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._walk(v) for v in value]
        if isinstance(value, dict):
            return {self.text(k): self._walk(v) for k, v in value.items()}
        return value
