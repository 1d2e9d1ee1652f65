"""The sandbox's moving parts around the market: rate limits, fault injection and call statistics.

All three can be read and changed while the sandbox runs (admin endpoints under `/__sandbox/`),
so a test of another stage can turn faults on against a live server and then check what
the upstream saw.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tickettrak.common.endpoints import ENDPOINTS

Clock = Callable[[], float]


# --- rate limits -------------------------------------------------------------------------------
def documented_limits(scale: float = 1.0, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Per-token per-minute limits by endpoint name: the documented ones x `scale`, then overrides.

    A limit of 0 (or less) means "no limit" (benchmarks that measure the proxy, not the API).
    """
    limits = {name: max(int(e.per_minute * scale), 1) if scale > 0 else 0 for name, e in ENDPOINTS.items()}
    for name, value in (overrides or {}).items():
        if name not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {name!r} in rate limits; known: {', '.join(ENDPOINTS)}")
        limits[name] = value
    return limits


class RateLimiter:
    """Fixed windows on the wall-clock minute, per (token, endpoint), as the API documents:
    over the limit -> 429, and the token stays blocked for the rest of that minute."""

    def __init__(self, limits: Mapping[str, int], clock: Clock = time.time) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._windows: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str, endpoint: str) -> bool:
        limit = self.limits.get(endpoint, 0)
        if limit <= 0:
            return True
        minute = int(self._clock() // 60)
        with self._lock:
            window, count = self._windows.get((token, endpoint), (minute, 0))
            if window != minute:
                window, count = minute, 0
            count += 1
            self._windows[(token, endpoint)] = (window, count)
            return count <= limit

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


# --- faults ------------------------------------------------------------------------------------
class FaultConfig(BaseModel):
    """What can go wrong, as probabilities per request (0 = never, 1 = always). Off by default.

    Outcomes are drawn in this order: stall, latency (both delay the answer), then at most one of
    5xx, 429, malformed JSON, truncated JSON. `max_faults` stops injecting after that many
    failures (e.g. 1: "the first call fails, the retry succeeds"). `endpoints` limits faults to
    those endpoint names. `seed` makes the draws repeatable.
    """

    model_config = ConfigDict(extra="forbid")

    latency: float = Field(0.0, ge=0, le=1, description="chance of an added delay")
    latency_ms: int = Field(200, ge=0, le=600_000)
    error_5xx: float = Field(0.0, ge=0, le=1, description="chance of an HTML 5xx from the edge")
    error_status: int = Field(502, ge=500, le=599)
    rate_429: float = Field(0.0, ge=0, le=1, description="chance of a 429 although under the limit")
    malformed: float = Field(0.0, ge=0, le=1, description="chance of a 200 whose body is not JSON")
    truncated: float = Field(0.0, ge=0, le=1, description="chance of a 200 whose JSON is cut short")
    stall: float = Field(0.0, ge=0, le=1, description="chance of answering only after stall_s")
    stall_s: float = Field(30.0, ge=0, le=3600)
    max_faults: int | None = Field(None, ge=0)
    endpoints: list[str] | None = None
    seed: int = 0

    @property
    def active(self) -> bool:
        return any((self.latency, self.error_5xx, self.rate_429, self.malformed, self.truncated, self.stall))


@dataclass
class FaultPlan:
    """What to do to one request."""

    delay_s: float = 0.0
    outcome: str | None = None  # "5xx" | "429" | "malformed" | "truncated" | None


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.config = FaultConfig()
        self.injected = 0
        self._rng = random.Random(0)
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self.injected = 0
            self._rng = random.Random(config.seed)

    def plan(self, endpoint: str) -> FaultPlan:
        config = self.config
        plan = FaultPlan()
        if not config.active or (config.endpoints is not None and endpoint not in config.endpoints):
            return plan
        with self._lock:
            if config.max_faults is not None and self.injected >= config.max_faults:
                return plan
            draw = self._rng.random
            if config.stall and draw() < config.stall:
                plan.delay_s += config.stall_s
            if config.latency and draw() < config.latency:
                plan.delay_s += config.latency_ms / 1000
            for outcome, rate in (
                ("5xx", config.error_5xx),
                ("429", config.rate_429),
                ("malformed", config.malformed),
                ("truncated", config.truncated),
            ):
                if rate and draw() < rate:
                    plan.outcome = outcome
                    break
            if plan.outcome is not None or plan.delay_s:
                self.injected += 1
        return plan


# --- statistics --------------------------------------------------------------------------------
class Stats:
    """Upstream calls as the API saw them: counts by endpoint and status, and arrival times."""

    def __init__(self, clock: Clock = time.time, keep: int = 200_000) -> None:
        self._clock = clock
        self._keep = keep
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.counts: Counter[tuple[str, int]] = Counter()
            self.by_token: Counter[str] = Counter()
            self.times: dict[str, deque[float]] = {}
            self.faults: Counter[str] = Counter()
            self.started_at = self._clock()

    def record(self, endpoint: str, status: int, arrived: float, token_label: str, fault: str | None) -> None:
        with self._lock:
            self.counts[(endpoint, status)] += 1
            self.by_token[token_label] += 1
            self.times.setdefault(endpoint, deque(maxlen=self._keep)).append(arrived)
            if fault:
                self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_endpoint: dict[str, dict[str, int]] = {}
            for (endpoint, status), count in sorted(self.counts.items()):
                by_endpoint.setdefault(endpoint, {})[str(status)] = count
            times = {name: list(values) for name, values in self.times.items()}
            return {
                "total": sum(self.counts.values()),
                "by_endpoint": by_endpoint,
                "by_token": dict(self.by_token),
                "faults": dict(self.faults),
                "max_per_60s": {name: max_in_window(values, 60.0) for name, values in times.items()},
                "timestamps": times,
                "started_at": self.started_at,
            }


def max_in_window(timestamps: list[float], seconds: float) -> int:
    """The most calls inside any window of `seconds` (sliding): what a rate limit cares about."""
    ordered = sorted(timestamps)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best
