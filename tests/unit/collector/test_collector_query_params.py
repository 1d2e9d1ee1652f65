"""What a routes config may put in `queries[].params`: the proxy's parameters minus the plan's own.

The rules themselves are the proxy's (`tickettrak.common.query_params`, tested in tests/unit/proxy);
here: PLANNED is exactly what the plan sets, and the verdicts and messages a config gets.
"""

from __future__ import annotations

from datetime import date

import pytest

from tickettrak.collector.config import Query, load_routes_config
from tickettrak.collector.plan import Slot, _query_for
from tickettrak.collector.query_params import PLANNED, extra_params, param_problems
from tickettrak.common.endpoints import ENDPOINTS
from tickettrak.common.query_params import PARAMS


def test_planned_is_what_the_plan_sets() -> None:
    # Every endpoint, one-way and a 7-day round trip, daily and monthly departures: the union of
    # the keys the plan itself puts in a query is PLANNED, no more, no less.
    config = load_routes_config(None)
    keys: set[str] = set()
    for endpoint in ENDPOINTS:
        query = Query(endpoint=endpoint, trips=["one_way"], departures=["monthly"])
        for departures in ("daily", "monthly"):
            for length in (None, 7):
                slot = Slot(departures, date(2026, 3, 1))
                keys |= set(_query_for(config, query, "MOW", "DXB", slot, length))
    assert keys == PLANNED


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_params_may_set_every_other_parameter_of_the_endpoint(endpoint: str) -> None:
    accepted = set(PARAMS[ENDPOINTS[endpoint].path].by_name)
    assert set(extra_params(endpoint)) == accepted - PLANNED
    assert set(extra_params(endpoint))  # every endpoint leaves something to the config


def test_planned_unknown_and_bad_values_are_refused() -> None:
    assert param_problems("prices_for_dates", {"origin": "LED"}) == [
        "origin: set by the plan for every request, not in params"
    ]
    assert param_problems("prices_for_dates", {"currency": "usd"}) == [
        "currency: set by the plan for every request, not in params (use the top-level field)"
    ]
    assert param_problems("month_matrix", {"sorting": "price"}) == [
        "'sorting': not a parameter of month_matrix (params may set: limit, show_to_affiliates)"
    ]
    assert param_problems("prices_for_dates", {"limit": "$(touch canary)"}) == [
        "limit: must be a whole number from 1 to 1000, got '$(touch canary)'"
    ]
    assert param_problems("prices_for_dates", {"limit": "1000", "direct": "true"}) == []
