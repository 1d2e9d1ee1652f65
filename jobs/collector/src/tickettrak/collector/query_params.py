"""The extra query parameters a routes config may add (`queries[].params`), checked at start.

The proxy validates every query before it goes upstream, with the rules in
`tickettrak.common.query_params`. The collector applies the same rules to the config, so a bad
value stops the run at start instead of failing every request with 422 at send time.

Parameters the plan sets itself (origin, dates, one_way, currency, ...) are refused in `params`:
the plan's value would win silently (see plan.py `_query_for`; a test keeps PLANNED equal to what
it sets).
"""

from __future__ import annotations

from tickettrak.common.endpoints import ENDPOINTS
from tickettrak.common.query_params import PARAMS, Param, show_value

# What the plan always sets (plan.py `_query_for`) or derives from the config's other fields.
PLANNED = frozenset(
    {"origin", "destination", "currency", "market", "departure_at", "return_at", "one_way",
     "group_by", "trip_duration", "period_type", "beginning_of_period", "month"}
)  # fmt: skip


def extra_params(endpoint: str) -> dict[str, Param]:
    """The parameters of `endpoint` a routes config may set: the proxy's, minus the plan's own."""
    accepted = PARAMS[ENDPOINTS[endpoint].path].by_name
    return {name: param for name, param in accepted.items() if name not in PLANNED}


def param_problems(endpoint: str, params: dict[str, str]) -> list[str]:
    """`name: problem` for each parameter of `params` the proxy would refuse for `endpoint`."""
    allowed = extra_params(endpoint)
    problems = []
    for name, value in params.items():
        if name in PLANNED:
            where = " (use the top-level field)" if name in ("currency", "market") else ""
            problems.append(f"{name}: set by the plan for every request, not in params{where}")
        elif name not in allowed:
            accepted = ", ".join(allowed)
            problems.append(f"{show_value(name)}: not a parameter of {endpoint} (params may set: {accepted})")
        elif problem := allowed[name].check(value):
            problems.append(f"{name}: {problem}, got {show_value(value)}")
    return problems
