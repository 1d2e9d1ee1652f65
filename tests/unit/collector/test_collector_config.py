"""The routes config: the shipped default is valid, and every mistake names its field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tickettrak.collector.config import RoutesConfigError, load_routes_config, parse_routes_config

BASE: dict[str, Any] = {
    "version": 1,
    "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB"]},
    "horizon": {"daily_days": 3, "months": 2},
    "trips": {"one_way": True, "round_trip_days": [7, 10]},
    "queries": [{"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]}],
}


def with_change(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


def test_the_shipped_default_loads_with_the_issue_routes() -> None:
    config = load_routes_config()
    assert {"MOW", "LED", "KZN", "SVX", "AER", "OVB"} <= set(config.routes.origins)
    assert {"DXB", "AUH", "SHJ"} <= set(config.routes.destinations)
    assert config.routes.both_directions
    assert config.currency == "rub" and config.market == "ru"
    assert config.trips.one_way and config.trips.round_trip_days
    assert config.limits == {
        "prices_for_dates": 570,
        "grouped_prices": 570,
        "get_latest_prices": 285,
        "month_matrix": 285,
    }


def test_a_file_path_loads(tmp_path: Path) -> None:
    path = tmp_path / "routes.yaml"
    path.write_text(yaml.safe_dump(BASE))
    config = load_routes_config(path)
    assert config.routes.pairs() == [("MOW", "DXB"), ("LED", "DXB"), ("DXB", "MOW"), ("DXB", "LED")]


def test_unset_limits_default_to_the_proxy_budget() -> None:
    data = with_change("limits", {"month_matrix": 100})
    assert parse_routes_config(data).limits == {
        "prices_for_dates": 570,
        "grouped_prices": 570,
        "get_latest_prices": 285,
        "month_matrix": 100,
    }


def test_yaml_scalars_become_the_text_the_api_gets() -> None:
    data = with_change("queries.0.params", {"limit": 1000, "direct": False})
    config = parse_routes_config(data)
    assert config.queries[0].params == {"limit": "1000", "direct": "false"}


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("routes.origins", ["MOW", "XYZ"], "routes.origins[1]: unknown city code 'XYZ'"),
        ("routes.origins", ["mow"], "routes.origins[0]: 'mow' is not an IATA city code"),
        ("routes.destinations", ["DXB", "DXB"], "routes.destinations: a code is listed twice"),
        ("routes.destinations", ["MOW"], "MOW is both an origin and a destination"),
        ("horizon.daily_days", -1, "horizon.daily_days: Input should be greater than or equal to 0"),
        ("horizon.months", 14, "horizon.months: Input should be less than or equal to 13"),
        ("trips.round_trip_days", [0], "trips.round_trip_days.0: Input should be greater than or equal to 1"),
        ("queries.0.endpoint", "cheap", "queries.0.endpoint: unknown endpoint 'cheap'"),
        ("queries.0.trips", ["return"], "queries.0.trips.0: Input should be 'one_way' or 'round_trip'"),
        ("queries.0.params", {"token": "x"}, "queries.0.params: must not carry the token"),
        (
            "queries.0.params",
            {"limit": "$(touch canary)"},
            "queries.0.params: limit: must be a whole number from 1 to 1000, got '$(touch canary)'",
        ),
        ("queries.0.params", {"limit": 5000}, "queries.0.params: limit: must be a whole number from 1 to"),
        ("queries.0.params", {"sorting": "cheap"}, "queries.0.params: sorting: must be one of price, route"),
        (
            "queries.0.params",
            {"limt": 100},
            "queries.0.params: 'limt': not a parameter of prices_for_dates (params may set: direct, limit,",
        ),
        (
            "queries.0.params",
            {"currency": "usd"},
            "queries.0.params: currency: set by the plan for every request, not in params (use the top-level",
        ),
        ("currency", "RUB", "currency: must be a lower-case ISO 4217 code"),
        (
            "limits",
            {"prices_for_dates": 601},
            "limits.prices_for_dates: 601/min is above the API's documented 600/min",
        ),
        ("limits", {"prices_for_dates": 0}, "limits.prices_for_dates: Input should be greater than 0"),
        ("limits", {"nope": 5}, "limits: unknown endpoint 'nope'"),
        ("sending", {"max_attempts": 0}, "sending.max_attempts: Input should be greater than or equal to 1"),
        ("horizon", {"daily_days": 1, "month": 2}, "horizon.month: Extra inputs are not permitted"),
        (
            "queries.0",
            {"endpoint": "prices_for_dates", "trips": ["round_trip"], "departures": ["monthly"]},
            "queries[0] (prices_for_dates): cannot ask for round_trip trips by monthly departures",
        ),
        (
            "queries.0",
            {"endpoint": "month_matrix", "trips": ["round_trip"], "departures": ["monthly"]},
            "queries[0] (month_matrix): counts stays in whole weeks (7, 14, 21, 28 days); "
            "trips.round_trip_days has [10]",
        ),
    ],
)
def test_an_invalid_config_names_the_field(path: str, value: Any, expected: str) -> None:
    with pytest.raises(RoutesConfigError) as caught:
        parse_routes_config(with_change(path, value), "my-routes.yaml")
    assert str(caught.value).startswith("my-routes.yaml: ")
    assert expected in str(caught.value)


def test_unknown_codes_are_allowed_only_when_asked() -> None:
    data = with_change(
        "routes", {"origins": ["KJA", "ZZZ"], "destinations": ["DXB"], "allow_unknown_codes": True}
    )
    assert parse_routes_config(data).routes.origins == ["KJA", "ZZZ"]


def test_a_missing_section_and_bad_yaml_are_clear(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    del data["horizon"]
    with pytest.raises(RoutesConfigError, match="horizon: Field required"):
        parse_routes_config(data)
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: [unclosed\n")
    with pytest.raises(RoutesConfigError, match=r"bad.yaml: not valid YAML"):
        load_routes_config(bad)
    with pytest.raises(RoutesConfigError, match="cannot read the routes file"):
        load_routes_config(tmp_path / "missing.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n")
    with pytest.raises(RoutesConfigError, match="must be a YAML mapping"):
        load_routes_config(listy)
