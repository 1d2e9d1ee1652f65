"""What one proxy process shares between its requests (settings, store, writer, upstream, budget)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tickettrak.common.logs import get_logger
from tickettrak.common.raw_store import RawStore
from tickettrak.common.settings import Settings
from tickettrak.proxy.config import ProxySettings
from tickettrak.proxy.metrics import ProxyMetrics
from tickettrak.proxy.ratelimit import SlidingWindowLimiter
from tickettrak.proxy.scrub import TokenScrubber
from tickettrak.proxy.upstream import Upstream
from tickettrak.proxy.writer import RawWriter


@dataclass
class ProxyState:
    settings: Settings
    config: ProxySettings
    metrics: ProxyMetrics
    scrubber: TokenScrubber
    limiters: dict[str, SlidingWindowLimiter]
    store: RawStore | None = None
    writer: RawWriter | None = None
    upstream: Upstream | None = None
    store_down: str | None = None  # why the last RAW operation failed; None when healthy
    log: Any = field(default_factory=lambda: get_logger("tickettrak.proxy"))
