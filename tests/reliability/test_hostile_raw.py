"""The loader fed hostile RAW documents, each stored exactly as the proxy would store those bytes
(`stored_body`: parsed JSON, or the exact text when BSON cannot hold it): wrong types, huge
strings, deep nesting, unicode, `$`/`.` keys, NaN/Infinity, negative and absurd prices, dates far
in the past and future. One batch, salted with good documents: the load never crashes, every
document has its request_logs row, every offer is either a ticket with its source values or a
load_errors row with a reason, and the good documents load exactly as they do alone.

(tests/integration/loader/test_bad_input.py covers one of each *expected* reason — negative price,
missing field, mistyped, bad dates, non-JSON body...; this is the adversarial corpus.)
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fixtures.raw_docs import insert_documents, raw_document, recorded_documents
from tickettrak.common.raw_store import stored_body
from tickettrak.loader.loader import run_load

MOW_DXB = "aviasales_v3_prices_for_dates__TanyaOzhahov_TicketTrak__MOW-DXB_2025-12-12.json"


def _hostile_offers(offer: dict[str, Any]) -> dict[str, Any]:
    """name -> one offer (or a raw JSON text, for what Python's json cannot write natively)."""
    nested: Any = "bottom"
    for _ in range(300):
        nested = {"n": nested}
    cases: dict[str, Any] = {
        "huge_string": {**offer, "flight_number": "9" * 2_000_000},
        "huge_link": {**offer, "link": "/search/" + "x" * 5_000_000},
        "deep_nesting_in_offer": {**offer, "extra": nested},
        "unicode_everywhere": {
            **offer,
            "airline": "✈Ω",
            "origin_airport": "ШРМ",
            "link": "/s/\u202e\U0001f600",
        },
        "nul_in_string": {**offer, "link": "/search/a\u0000b"},
        "dollar_key": {**offer, "$where": "sleep(100)"},
        "dotted_key": {**offer, "a.b": 1},
        "price_negative": {**offer, "price": -1},
        "price_absurd_float": {**offer, "price": 1e300},
        "price_absurd_int": {**offer, "price": 10**30},
        "price_bool": {**offer, "price": True},
        "price_list": {**offer, "price": [1]},
        "price_object": {**offer, "price": {"$gt": 0}},
        "price_string_sql": {**offer, "price": "1; DROP TABLE aviasales.tickets; --"},
        "departure_year_9999": {**offer, "departure_at": "9999-12-31T23:59:59+03:00"},
        "departure_epoch_int": {**offer, "departure_at": 1_700_000_000},
        "departure_huge_year": {**offer, "departure_at": "+275760-09-13T00:00:00Z"},
        "return_far_past": {**offer, "return_at": "1900-01-01T00:00:00+04:00"},
        "offer_is_string": "not an offer",
        "offer_is_null": None,
        "offer_is_list": [offer],
    }
    texts = {  # non-standard JSON the API could send: kept as json_text by the proxy
        "price_nan": json.dumps(offer).replace(f'"price": {offer["price"]}', '"price": NaN'),
        "price_infinity": json.dumps(offer).replace(f'"price": {offer["price"]}', '"price": Infinity'),
        "price_minus_infinity": json.dumps(offer).replace(f'"price": {offer["price"]}', '"price": -Infinity'),
    }
    return {**{k: json.dumps(v) for k, v in cases.items()}, **texts}


def _body_texts(body: dict[str, Any]) -> dict[str, str]:
    """Whole-body hostility: wrong envelope types, deep nesting, duplicates, garbage."""
    deep = "[" * 5000 + "]" * 5000
    return {
        "body_is_list": json.dumps([body]),
        "body_is_string": json.dumps("success"),
        "body_is_null": "null",
        "data_is_string": json.dumps({**body, "data": "[]"}),
        "data_is_number": json.dumps({**body, "data": 7}),
        "success_is_string": json.dumps({**body, "success": "true"}),
        "currency_is_list": json.dumps({**body, "currency": ["rub"]}),
        "deep_body": json.dumps({**body, "data": []})[:-1] + ', "deep": ' + deep + "}",
        # deeper than BSON (kept as json_text) but JSON-readable: quarantined whole as the
        # fragment of an error response; 520 levels is past what pickle takes (the load worker)
        "deep_error_body": '{"success": false, "error": "x", "details": ' + "[" * 520 + "]" * 520 + "}",
        "duplicate_keys": json.dumps(body)[:-1] + ', "success": false}',
        "truncated": json.dumps(body)[: len(json.dumps(body)) // 2],
        "binary_garbage": "\ufffd\x01\x02PK\x03\x04",
    }


def _document(text: str, template: dict[str, Any], seq: int) -> dict[str, Any]:
    stored = stored_body(text.encode("utf-8", errors="surrogatepass"))
    doc = copy.deepcopy(template)
    # its own observation day: offers equal to the good ones' must not merge with them on the key
    day = date(2024, 1, 1) + timedelta(days=seq)
    doc.update(seq=seq, request_id=f"hostile-{seq}", logical_date=day.isoformat())
    doc["response"].update(body_format=stored.body_format, body=stored.body, body_text=stored.body_text)
    from bson import ObjectId

    doc["_id"] = ObjectId()
    return doc


def _fingerprint(dsn: str, good_ids: list[str]) -> tuple[Any, ...]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*), md5(string_agg(concat_ws('|', offer_id, price, currency, departure_at, "
            "return_at, flight_number, link), ',' ORDER BY offer_id)) FROM aviasales.tickets "
            "WHERE raw_id = ANY(%s)",
            (good_ids,),
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("batch_size", [1000, 4], ids=["in-process", "through-the-worker"])
def test_hostile_documents_never_crash_the_batch(
    tt_env: Path, new_postgres_database: Any, fixtures_dir: Path, batch_size: int
) -> None:
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    good = [doc for _, doc in recorded_documents(fixtures_dir)]
    template = next(d for name, d in recorded_documents(fixtures_dir) if name == MOW_DXB)
    body = template["response"]["body"]
    seq = 100
    hostile: dict[int, str] = {}
    docs = list(good)
    for name, offer_text in _hostile_offers(body["data"][0]).items():
        seq += 1
        whole = json.dumps({**body, "data": ["__OFFER__"]}).replace('"__OFFER__"', offer_text)
        docs.append(_document(whole, template, seq))
        hostile[seq] = name
    for name, text in _body_texts(body).items():
        seq += 1
        docs.append(_document(text, template, seq))
        hostile[seq] = name
    # a good document after the hostile ones: the batch goes on past them
    seq += 1
    tail = raw_document(copy.deepcopy(body), query=template["request"]["query"], seq=seq)
    docs.append(tail)
    formats = {d["response"]["body_format"] for d in docs}
    assert {"json", "json_text", "text"} <= formats, formats  # the proxy's three ways were exercised

    database = open_raw_database(load_settings())
    insert_documents(database["raw_exchanges"], docs)
    dsn = new_postgres_database()
    run_load(dsn, database, batch_size=batch_size)  # 1000: one batch, in-process; must not raise
    database.client.close()

    with psycopg.connect(dsn) as conn:
        logged = dict(conn.execute("SELECT raw_seq, success FROM aviasales.request_logs").fetchall())
        errors: dict[int, list[str]] = {}
        for raw_seq, reason in conn.execute(
            "SELECT r.raw_seq, e.reason FROM aviasales.load_errors e "
            "JOIN aviasales.request_logs r USING (raw_id)"
        ):
            errors.setdefault(raw_seq, []).append(reason)
        tickets: dict[int, list[tuple[Any, ...]]] = {}
        for row in conn.execute(
            "SELECT raw_seq, price, departure_at, flight_number, link FROM aviasales.tickets"
        ):
            tickets.setdefault(row[0], []).append(row[1:])
        sane = conn.execute(
            "SELECT count(*), array_agg(raw_seq) FROM aviasales.tickets "
            "WHERE NOT (price > 0 AND price < 1e12) "
            "OR departure_at < '1990-01-01' OR departure_at > '2100-01-01'"
        ).fetchone()

    assert set(logged) == {d["seq"] for d in docs}  # every document has its request_logs row
    for seq_no, name in hostile.items():
        loaded, quarantined = tickets.get(seq_no, []), errors.get(seq_no, [])
        # an offer is quarantined or loaded — never silently gone, never both
        if name in _hostile_offers(body["data"][0]):
            assert len(loaded) + len(quarantined) >= 1 or not logged[seq_no], name
            assert not (loaded and quarantined), (name, loaded, quarantined)
        assert all(r for r in quarantined), name
    # what was loaded from a hostile offer kept its values (unicode and long strings unmangled)
    by_name = {name: tickets.get(s, []) for s, name in hostile.items()}
    if by_name["unicode_everywhere"]:
        assert by_name["unicode_everywhere"][0][3] == "/s/\u202e\U0001f600"
    for name in ("price_negative", "price_nan", "price_infinity", "price_bool", "price_list"):
        assert not by_name[name], f"{name} was loaded as a ticket"
    assert sane is not None and sane[0] == 0, (sane, {n: t for n, t in by_name.items() if t})

    # the good documents loaded exactly as they do alone
    alone = new_postgres_database()
    database = open_raw_database(load_settings(home=str(tt_env / "alone")))
    insert_documents(database["raw_exchanges"], [*copy.deepcopy(good), copy.deepcopy(tail)])
    run_load(alone, database)
    database.client.close()
    good_ids = [str(d["_id"]) for d in [*good, tail]]
    assert _fingerprint(dsn, good_ids) == _fingerprint(alone, good_ids)
    assert _fingerprint(dsn, good_ids)[0] > 0


# Found by this corpus (issue 10), fixed in the loader: the offer is quarantined with its reason,
# the other offers of the same body (same batch) load.
ABSURD_OFFERS = [
    pytest.param(
        {"departure_at": "0001-01-01T00:00:00+03:00"}, "date_out_of_range", id="before_year_one_utc"
    ),
    pytest.param({"departure_at": "0001-01-02T00:00:00Z"}, "date_out_of_range", id="departure_in_year_one"),
    pytest.param({"departure_at": "1989-12-31T23:59:00+03:00"}, "date_out_of_range", id="departure_1989"),
    pytest.param({"return_at": "2101-01-01T00:00:00+04:00"}, "date_out_of_range", id="return_in_2101"),
    pytest.param({"price": 0}, "zero_price", id="zero_price"),
    pytest.param({"price": 0.004}, "zero_price", id="price_rounds_to_zero_cents"),
    pytest.param({"price": 999999999999.996}, "mistyped_field", id="price_rounds_past_numeric_14_2"),
]


@pytest.mark.parametrize(("change", "reason"), ABSURD_OFFERS)
def test_absurd_offer_is_quarantined_and_the_rest_loads(
    change: dict[str, Any], reason: str, tt_env: Path, new_postgres_database: Any, fixtures_dir: Path
) -> None:
    from tickettrak.common.embedded.mongo import open_raw_database
    from tickettrak.common.settings import load_settings

    template = next(d for name, d in recorded_documents(fixtures_dir) if name == MOW_DXB)
    body = copy.deepcopy(template["response"]["body"])
    good = body["data"][1:]
    body["data"] = [{**body["data"][0], **change}, *good]
    database = open_raw_database(load_settings())
    insert_documents(
        database["raw_exchanges"], [raw_document(body, query=template["request"]["query"], seq=1)]
    )
    dsn = new_postgres_database()
    try:
        run_load(dsn, database)
    finally:
        database.client.close()
    with psycopg.connect(dsn) as conn:
        errors = conn.execute("SELECT item_path, reason FROM aviasales.load_errors").fetchall()
        tickets = conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone()
    assert errors == [("data[0]", reason)]
    assert tickets == (len(good),)
