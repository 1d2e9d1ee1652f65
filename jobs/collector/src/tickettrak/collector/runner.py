"""One collection run: resume point, send what is left, summary."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import date

import httpx

from tickettrak.collector.config import RoutesConfig
from tickettrak.collector.limiter import RateLimiter
from tickettrak.collector.outcomes import RunSummary
from tickettrak.collector.plan import PlannedRequest
from tickettrak.collector.progress import Feedback
from tickettrak.collector.resume import completed_keys
from tickettrak.collector.sender import Sender, SendEvents


@dataclass(frozen=True)
class RunOptions:
    proxy_url: str
    logical_date: date
    run_id: str
    rate_limit_scale: float = 1.0
    terminal: bool = False


def build_limiters(config: RoutesConfig, endpoints: set[str], scale: float) -> dict[str, RateLimiter]:
    margin = config.sending.rate_margin
    return {name: RateLimiter(config.limits[name] * scale, margin=margin) for name in sorted(endpoints)}


def http_client(proxy_url: str, config: RoutesConfig, endpoints: int) -> httpx.AsyncClient:
    pool = config.sending.max_in_flight * max(endpoints, 1)
    return httpx.AsyncClient(
        base_url=proxy_url,
        timeout=httpx.Timeout(config.sending.attempt_timeout_s, connect=10.0),
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        headers={"Accept-Encoding": "gzip, deflate", "User-Agent": "tickettrak-collector"},
    )


async def run_collection(config: RoutesConfig, plan: list[PlannedRequest], options: RunOptions) -> RunSummary:
    endpoints = {r.endpoint for r in plan}
    async with http_client(options.proxy_url, config, len(endpoints)) as client:
        done = await completed_keys(client, options.logical_date)
        to_send = [r for r in plan if r.key not in done]
        summary = RunSummary(planned=len(plan), already_done=len(plan) - len(to_send), to_send=len(to_send))
        if not to_send:
            return summary
        limiters = build_limiters(config, {r.endpoint for r in to_send}, options.rate_limit_scale)
        label = f"collect {options.logical_date.isoformat()}"
        started = time.monotonic()
        with Feedback(len(to_send), label, terminal=options.terminal) as feedback:
            sender = Sender(
                client,
                run_id=options.run_id,
                logical_date=options.logical_date.isoformat(),
                limiters=limiters,
                config=config.sending,
                events=SendEvents(on_outcome=feedback.on_outcome, on_retry=feedback.on_retry),
            )
            outcomes = await sender.run(to_send)
        summary.duration_s = time.monotonic() - started
        for outcome in outcomes:
            summary.add(outcome)
        summary.endpoints = sender.stats
        summary.retries_by_reason = Counter(sender.retries)
        return summary
