"""The Aviasales Data API endpoints TicketTrak speaks, with their documented limits.

One registry shared by the sandbox (what it serves), the proxy (what it forwards and how fast),
the collector (what it plans) and the loader (how to read each body). Facts from
`shared/docs/aviasales-data-api.md`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Endpoint:
    name: str  # short name used in config files and metrics
    path: str  # the Data API path, exactly
    per_minute: int  # documented per-token request limit
    shape: str  # how the body carries offers: "v3_list", "v3_grouped", "v2_list"


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in (
        Endpoint("prices_for_dates", "/aviasales/v3/prices_for_dates", 600, "v3_list"),
        Endpoint("grouped_prices", "/aviasales/v3/grouped_prices", 600, "v3_grouped"),
        Endpoint("get_latest_prices", "/aviasales/v3/get_latest_prices", 300, "v2_list"),
        Endpoint("month_matrix", "/v2/prices/month-matrix", 300, "v2_list"),
    )
}
BY_PATH: dict[str, Endpoint] = {e.path: e for e in ENDPOINTS.values()}

# Query parameters that carry the token; they never leave the proxy and never reach RAW.
TOKEN_PARAMS = frozenset({"token"})
TOKEN_HEADER = "X-Access-Token"  # noqa: S105 (a header name, not a secret)

# Headers by which a caller names the collection run that asked; stored in RAW.
RUN_ID_HEADER = "X-TicketTrak-Run-Id"
LOGICAL_DATE_HEADER = "X-TicketTrak-Logical-Date"


def canonical_query(query: Mapping[str, str]) -> str:
    """The query as a stable string: token removed, keys sorted, values as sent."""
    items = sorted((k, v) for k, v in query.items() if k not in TOKEN_PARAMS)
    return urlencode(items)


def request_key(path: str, query: Mapping[str, str]) -> str:
    """Identity of one API request (path + canonical query), used to know what a run already has.

    The collector computes it for each planned request; the proxy stores it in the RAW document.
    """
    return hashlib.sha256(f"{path}?{canonical_query(query)}".encode()).hexdigest()
