"""A RAW set salted with every kind of bad document: good rows load, each bad one is quarantined."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import insert_documents, raw_document, recorded_documents
from tickettrak.loader.loader import run_load

pytestmark = pytest.mark.integration


def _salted(fixtures_dir: Path) -> tuple[list[dict[str, Any]], dict[tuple[int, str], str]]:
    """Good recorded documents plus one of each kind of bad input; expected (seq, item_path) -> reason."""
    good = [doc for _, doc in recorded_documents(fixtures_dir)]
    template = copy.deepcopy(good[0])  # a MOW->DXB body with 20 offers
    body = template["response"]["body"]
    query = template["request"]["query"]
    seq = len(good)
    docs, expected = list(good), {}

    def add(doc: dict[str, Any], path: str, reason: str) -> None:
        docs.append(doc)
        expected[(doc["seq"], path)] = reason

    def offer_variant(mutate: Any, reason: str) -> None:
        nonlocal seq
        seq += 1
        variant = copy.deepcopy(body)
        mutate(variant["data"][3])
        add(raw_document(variant, query=query, seq=seq), "data[3]", reason)

    offer_variant(lambda o: o.update(price=-5), "negative_price")
    offer_variant(lambda o: o.pop("departure_at"), "missing_field")
    offer_variant(lambda o: o.update(price="17331"), "mistyped_field")
    offer_variant(lambda o: o.update(return_at="2025-12-01T10:00:00+04:00"), "return_before_departure")
    offer_variant(lambda o: o.update(departure_at="12/12/2025 08:40"), "invalid_datetime")
    offer_variant(lambda o: o.update(duration=2**40), "mistyped_field")  # would overflow integer
    seq += 1
    add(raw_document(None, seq=seq, status=502, body_text="<html>Bad\x00Gateway</html>"), "", "non_json_body")
    seq += 1
    add(
        raw_document({"success": False, "data": None, "error": "Unauthorized"}, seq=seq, status=401),
        "",
        "error_response",
    )
    seq += 1
    add(
        raw_document(None, seq=seq, status=None, transport_error="ReadTimeout: upstream"),
        "",
        "transport_error",
    )
    seq += 1
    add(
        raw_document({**copy.deepcopy(body), "currency": "xyz"}, query=query, seq=seq), "", "unknown_currency"
    )
    seq += 1
    add(raw_document({"success": True, "data": {"oops": 1}}, query=query, seq=seq), "", "unexpected_shape")
    seq += 1
    add(raw_document(copy.deepcopy(body), endpoint="/v1/prices/cheap", seq=seq), "", "unknown_endpoint")
    return docs, expected


def test_salted_raw_quarantines_each_bad_document(raw_store, postgres_dsn: str, fixtures_dir: Path) -> None:
    docs, expected = _salted(fixtures_dir)
    insert_documents(raw_store.collection, docs)

    summary = run_load(postgres_dsn, raw_store.database, batch_size=4)

    with psycopg.connect(postgres_dsn) as conn:
        errors = conn.execute(
            "SELECT raw_seq, item_path, reason, detail, fragment IS NOT NULL OR fragment_text IS NOT NULL"
            " FROM aviasales.load_errors"
        ).fetchall()
        assert {(s, p): r for s, p, r, _, _ in errors} == expected
        assert all(detail for _, _, _, detail, _ in errors)
        # the offending fragment is kept with every error
        assert all(has for *_, has in errors)
        # every document, error responses included, has its request_logs row
        assert conn.execute("SELECT count(*) FROM aviasales.request_logs").fetchone() == (len(docs),)
        failed = conn.execute(
            "SELECT raw_seq, http_status, error FROM aviasales.request_logs WHERE NOT success"
        ).fetchall()
        assert {s for s, _, _ in failed} == {s for (s, p), r in expected.items() if r in (
            "non_json_body", "error_response", "transport_error")}  # fmt: skip
        assert any(status == 401 and "Unauthorized" in err for _, status, err in failed)
        # all good rows load: 3 x 20 recorded MOW->DXB + 30 v2; the offer variants repeat the first
        # body's offers on the same day (same offers: later sightings update them, no new rows)
        assert conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone() == (90,)
        assert summary.tickets_inserted == 90 and summary.tickets_updated > 0
        # the bad offer of each variant did not replace the good sighting's values
        assert conn.execute("SELECT count(*) FROM aviasales.tickets WHERE price < 0").fetchone() == (0,)
    assert sum(summary.quarantined.values()) == len(expected)
    assert summary.quarantined["negative_price"] == 1
