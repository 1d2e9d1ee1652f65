"""The extra query parameters a routes config may add (`queries[].params`), checked at start.

The proxy validates every query before it goes upstream (`tickettrak.proxy.params`), but that
package is not in the collector's image (it brings the web server), so a bad value in `params`
used to plan fine and fail at send time with 422 on every request. These are the same rules,
for the few parameters the plan leaves to the config; tests/unit/collector checks them against
the proxy's table value by value, so the two cannot drift apart.

Parameters the plan sets itself (origin, dates, one_way, currency, ...) are refused in `params`:
the plan's value would win silently (see plan.py `_query_for`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Check = Callable[[str], str | None]


def _whole_number(low: int, high: int) -> Check:
    def check(value: str) -> str | None:
        if not re.fullmatch(r"[0-9]{1,7}", value) or not low <= int(value) <= high:
            return f"must be a whole number from {low} to {high}"
        return None

    return check


def _one_of(*choices: str) -> Check:
    def check(value: str) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"

    return check


_BOOLEAN = _one_of("true", "false")
_LIMIT = _whole_number(1, 1000)
_PAGE = _whole_number(1, 100_000)
_STAY = _whole_number(0, 365)

# endpoint -> parameter -> check (the proxy's rules for these names, tickettrak/proxy/params.py)
EXTRA_PARAMS: dict[str, dict[str, Check]] = {
    "prices_for_dates": {
        "direct": _BOOLEAN,
        "limit": _LIMIT,
        "page": _PAGE,
        "sorting": _one_of("price", "route"),
        "unique": _BOOLEAN,
    },
    "grouped_prices": {"direct": _BOOLEAN, "min_trip_duration": _STAY, "max_trip_duration": _STAY},
    "get_latest_prices": {
        "limit": _LIMIT,
        "page": _PAGE,
        "sorting": _one_of("price", "route", "distance_unit_price"),
        "show_to_affiliates": _BOOLEAN,
        "trip_class": _one_of("0", "1", "2"),
    },
    "month_matrix": {"limit": _LIMIT, "show_to_affiliates": _BOOLEAN},
}

# What the plan always sets (plan.py `_query_for`) or derives from the config's other fields.
PLANNED = frozenset(
    {"origin", "destination", "currency", "market", "departure_at", "return_at", "one_way",
     "group_by", "trip_duration", "period_type", "beginning_of_period", "month"}
)  # fmt: skip


def _show(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


def param_problems(endpoint: str, params: dict[str, str]) -> list[str]:
    """`name: problem` for each parameter of `params` the proxy would refuse for `endpoint`."""
    allowed = EXTRA_PARAMS[endpoint]
    problems = []
    for name, value in params.items():
        if name in PLANNED:
            where = " (use the top-level field)" if name in ("currency", "market") else ""
            problems.append(f"{name}: set by the plan for every request, not in params{where}")
        elif name not in allowed:
            accepted = ", ".join(allowed)
            problems.append(f"{_show(name)}: not a parameter of {endpoint} (params may set: {accepted})")
        elif problem := allowed[name](value):
            problems.append(f"{name}: {problem}, got {_show(value)}")
    return problems
