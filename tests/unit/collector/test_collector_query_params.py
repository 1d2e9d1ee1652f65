"""The collector's `params` rules agree with the proxy's, value by value (they cannot drift).

The collector's image has no proxy package, so it carries its own copy of the rules for the
parameters a routes config may add; the workspace has both, so this test compares them: every name
the collector accepts is one the proxy accepts for that endpoint, every name the plan sets is one
the proxy knows, and on a corpus of values (boundaries, look-alikes, injection strings) the two
give the same verdict.
"""

from __future__ import annotations

import pytest

from tickettrak.collector.query_params import EXTRA_PARAMS, PLANNED, param_problems
from tickettrak.common.endpoints import ENDPOINTS
from tickettrak.proxy.params import PARAMS

VALUES = [
    "", "0", "1", "7", "99", "100", "365", "366", "1000", "1001", "100000", "100001", "0001000",
    "12345678", "-1", "+5", "1.5", "1e3", " 10", "10 ", "true", "false", "True", "TRUE", "yes", "1",
    "2", "3", "price", "route", "Price", "distance_unit_price", "departure_at", "month", "dates",
    "$(touch canary)", "`id`", "x'); DROP TABLE public.sentinel; --", "../../etc/passwd",
    '{"$ne": null}', "a\nb", "a\x00b", "１０",  # full-width digits: not ASCII
]  # fmt: skip


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_names_are_the_proxys(endpoint: str) -> None:
    proxy_names = set(PARAMS[ENDPOINTS[endpoint].path].by_name)
    assert set(EXTRA_PARAMS[endpoint]) <= proxy_names
    assert not set(EXTRA_PARAMS[endpoint]) & PLANNED
    # every proxy parameter is either left to the config or set by the plan: none forgotten
    assert proxy_names <= set(EXTRA_PARAMS[endpoint]) | PLANNED


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_verdicts_are_the_proxys(endpoint: str) -> None:
    proxy = PARAMS[ENDPOINTS[endpoint].path].by_name
    checked = 0
    for name in EXTRA_PARAMS[endpoint]:
        for value in VALUES:
            collector_ok = not param_problems(endpoint, {name: value})
            proxy_ok = proxy[name].check(value) is None
            assert collector_ok == proxy_ok, (endpoint, name, value)
            checked += 1
    assert checked >= 2 * len(VALUES)


def test_planned_and_unknown_names_are_refused() -> None:
    assert param_problems("prices_for_dates", {"origin": "LED"}) == [
        "origin: set by the plan for every request, not in params"
    ]
    assert param_problems("month_matrix", {"sorting": "price"}) == [
        "'sorting': not a parameter of month_matrix (params may set: limit, show_to_affiliates)"
    ]
    assert param_problems("prices_for_dates", {"limit": "1000", "direct": "true"}) == []
