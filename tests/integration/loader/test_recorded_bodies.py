"""Every recorded body of a loaded endpoint, wrapped as RAW, loads into exactly the expected rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from tests.fixtures.raw_docs import insert_documents, recorded_documents
from tickettrak.loader.loader import run_load

pytestmark = pytest.mark.integration


def test_recorded_bodies_load_exactly(raw_store, postgres_dsn: str, fixtures_dir: Path) -> None:
    docs = recorded_documents(fixtures_dir)
    insert_documents(raw_store.collection, [d for _, d in docs])

    summary = run_load(postgres_dsn, raw_store.database)

    expected_offers = {}
    for name, doc in docs:
        body = json.loads((fixtures_dir / name).read_text())
        expected_offers[str(doc["_id"])] = len(body["data"])
    assert summary.documents_read == len(docs)
    assert summary.request_logs == len(docs)
    assert dict(summary.quarantined) == {}
    with psycopg.connect(postgres_dsn) as conn:
        per_doc = dict(conn.execute("SELECT raw_id, offers_count FROM aviasales.request_logs").fetchall())
        assert per_doc == expected_offers
        tickets = dict(
            conn.execute("SELECT raw_id, count(*) FROM aviasales.tickets GROUP BY raw_id").fetchall()
        )
        # every offer is its own row: the MOW→DXB bodies hold 20 each, some differing only by return
        assert tickets == {k: v for k, v in expected_offers.items() if v}
        mow_dxb = conn.execute(
            "SELECT count(*) FROM aviasales.tickets WHERE origin = 'MOW' AND destination = 'DXB'"
        ).fetchone()
        assert mow_dxb == (60,)
        assert conn.execute("SELECT count(*) FROM aviasales.load_errors").fetchone() == (0,)
        assert conn.execute("SELECT watermark_seq FROM aviasales.load_state").fetchone() == (len(docs),)


def test_recorded_values_spot_checks(raw_store, postgres_dsn: str, fixtures_dir: Path) -> None:
    insert_documents(raw_store.collection, [d for _, d in recorded_documents(fixtures_dir)])
    run_load(postgres_dsn, raw_store.database)
    with psycopg.connect(postgres_dsn) as conn:
        # first offer of the 2025-12-12 body: UT 715 VKO 08:40+03:00 -> DWC, back 17:30+04:00, 17331 rub
        row = conn.execute(
            """SELECT price, currency, departure_at, return_at, departure_date, return_date, trip_type,
                      origin_airport, destination_airport, deep_link, search_date, observed_date, transfers,
                      duration, duration_to, duration_back
               FROM aviasales.tickets WHERE flight_number = '715' AND price = 17331"""
        ).fetchall()
        assert len(row) == 1
        (price, currency, dep, ret, dep_date, ret_date, trip, o_air, d_air, link, search, observed,
         transfers, duration, d_to, d_back) = row[0]  # fmt: skip
        assert price == 17331 and currency == "rub" and trip == "round_trip"
        assert dep == datetime(2025, 12, 12, 5, 40, tzinfo=UTC)  # 08:40+03:00
        assert ret == datetime(2025, 12, 17, 13, 30, tzinfo=UTC)  # 17:30+04:00
        assert str(dep_date) == "2025-12-12" and str(ret_date) == "2025-12-17"
        assert (o_air, d_air) == ("VKO", "DWC")
        assert link.startswith("https://www.aviasales.ru/search/MOW1212DXB17121?")
        assert str(search) == "2025-12-11" and str(observed) == "2025-12-11"
        assert (transfers, duration, d_to, d_back) == (0, 670, 320, 350)
        # the same outbound flight with two different returns: two rows
        returns = conn.execute(
            """SELECT count(DISTINCT return_at) FROM aviasales.tickets
               WHERE flight_number = '715' AND departure_at = '2025-12-12T08:40:00+03:00'"""
        ).fetchone()
        assert returns is not None and returns[0] >= 2
        # v2 month-matrix: one-way, currency normalised, found_at with Z
        v2 = conn.execute(
            """SELECT count(*), min(currency), max(currency), bool_and(trip_type = 'one_way'),
                      bool_and(found_at IS NOT NULL)
               FROM aviasales.tickets WHERE endpoint = '/v2/prices/month-matrix'"""
        ).fetchone()
        assert v2 == (30, "usd", "usd", True, True)


def test_leading_zero_flight_number_is_kept(raw_store, postgres_dsn: str, fixtures_dir: Path) -> None:
    _name, doc = recorded_documents(fixtures_dir)[0]
    doc["response"]["body"]["data"][0]["flight_number"] = "099"  # the API's own example of a zero-led number
    insert_documents(raw_store.collection, [doc])
    run_load(postgres_dsn, raw_store.database)
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute(
            "SELECT flight_number FROM aviasales.tickets WHERE flight_number = '099'"
        ).fetchall() == [("099",)]
