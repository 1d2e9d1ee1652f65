"""Send the plan through the proxy: asyncio + httpx, per-endpoint pacing, retries, deadlines.

Per endpoint, a few workers take requests from a queue; every attempt (retries too) first takes a
slot from the endpoint's `RateLimiter`, so the limit holds whatever fails. A retry goes back to
the queue after its backoff instead of holding a worker, so one slow request never idles the
endpoint's budget.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from tickettrak.collector.config import SendingConfig
from tickettrak.collector.limiter import RateLimiter
from tickettrak.collector.outcomes import EndpointStats, Outcome
from tickettrak.collector.plan import PlannedRequest
from tickettrak.common.endpoints import LOGICAL_DATE_HEADER, RUN_ID_HEADER, TOKEN_PARAMS

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


@dataclass
class _Job:
    request: PlannedRequest
    attempts: int = 0  # HTTP requests sent
    failures: int = 0  # attempts that count against max_attempts (not "wait" answers: 429 with Retry-After)
    deadline: float | None = None
    last_reason: str | None = None


@dataclass(frozen=True)
class _Retry:
    reason: str
    delay: float


@dataclass
class SendEvents:
    """Callbacks for progress reporting; each runs on the event loop, so keep them cheap."""

    on_outcome: Callable[[Outcome], None] = lambda _: None
    on_retry: Callable[[PlannedRequest, str, float], None] = lambda *_: None


def backoff_delay(attempt: int, config: SendingConfig, retry_after: float | None = None) -> float:
    """Exponential backoff with equal jitter; never less than the server's Retry-After."""
    ceiling: float = min(config.backoff_max_s, config.backoff_base_s * 2.0 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    return max(delay, retry_after or 0.0)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is not used by the proxy or the API)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def count_offers(body: object) -> int:
    """Offers in a Data API body: `data` is a list (v3 list, v2) or an object of offers (grouped)."""
    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list | dict):
        return len(data)
    return 0


class Sender:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        run_id: str,
        logical_date: str,
        limiters: dict[str, RateLimiter],
        config: SendingConfig,
        events: SendEvents | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._headers = {RUN_ID_HEADER: run_id, LOGICAL_DATE_HEADER: logical_date}
        self._limiters = limiters
        self._config = config
        self._events = events or SendEvents()
        self._clock = clock
        self.stats: dict[str, EndpointStats] = {
            name: EndpointStats(per_minute=limiter.per_minute) for name, limiter in limiters.items()
        }
        self.retries: dict[str, int] = {}

    async def run(self, requests: Sequence[PlannedRequest]) -> list[Outcome]:
        by_endpoint: dict[str, list[PlannedRequest]] = {}
        for request in requests:
            if request.endpoint not in self._limiters:
                raise ValueError(f"no rate limit configured for endpoint {request.endpoint!r}")
            if TOKEN_PARAMS & request.query.keys():
                raise ValueError("a planned request carries a token: the proxy adds it, never the collector")
            by_endpoint.setdefault(request.endpoint, []).append(request)
        results = await asyncio.gather(
            *(self._run_endpoint(name, reqs) for name, reqs in by_endpoint.items())
        )
        return [outcome for endpoint_outcomes in results for outcome in endpoint_outcomes]

    async def _run_endpoint(self, endpoint: str, requests: list[PlannedRequest]) -> list[Outcome]:
        queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        for request in requests:
            queue.put_nowait(_Job(request))
        outcomes: list[Outcome] = []
        workers = min(self._config.max_in_flight, len(requests))
        loop = asyncio.get_running_loop()
        timers: list[asyncio.TimerHandle] = []

        def finish(outcome: Outcome) -> None:
            outcomes.append(outcome)
            self._events.on_outcome(outcome)
            if len(outcomes) == len(requests):
                for _ in range(workers):
                    queue.put_nowait(None)

        async def worker() -> None:
            while (job := await queue.get()) is not None:
                result = await self._attempt(job)
                if isinstance(result, Outcome):
                    finish(result)
                    continue
                self.retries[result.reason] = self.retries.get(result.reason, 0) + 1
                self._events.on_retry(job.request, result.reason, result.delay)
                timers.append(loop.call_later(result.delay, queue.put_nowait, job))

        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            for timer in timers:
                timer.cancel()
        return outcomes

    def _final(self, job: _Job, reason: str | None, offers: int = 0) -> Outcome:
        r = job.request
        return Outcome(r.key, r.endpoint, r.route, reason is None, reason, offers, job.attempts)

    def _retry_or_fail(
        self, job: _Job, reason: str, retry_after: float | None = None, *, counts: bool = True
    ) -> Outcome | _Retry:
        job.last_reason = reason
        if counts:
            job.failures += 1
        if job.failures >= self._config.max_attempts:
            return self._final(job, reason)
        delay = backoff_delay(max(job.failures, 1), self._config, retry_after)
        assert job.deadline is not None
        if self._clock() + delay >= job.deadline:
            return self._final(job, reason)
        return _Retry(reason, delay)

    async def _attempt(self, job: _Job) -> Outcome | _Retry:
        request = job.request
        await self._limiters[request.endpoint].acquire()
        now = self._clock()
        if job.deadline is None:
            job.deadline = now + self._config.request_deadline_s
        remaining = job.deadline - now
        if remaining <= 0:
            # The last error says more than "deadline" when there was one.
            return self._final(job, job.last_reason or "deadline_exceeded")
        job.attempts += 1
        self.stats[request.endpoint].record_send(now)
        timeout = min(self._config.attempt_timeout_s, remaining)
        try:
            response = await self._client.get(
                request.path, params=dict(request.query), headers=self._headers, timeout=timeout
            )
        except httpx.TimeoutException:
            return self._retry_or_fail(job, "timeout")
        except httpx.TransportError as error:
            return self._retry_or_fail(job, f"transport_{type(error).__name__}")
        return self._judge(job, response)

    def _judge(self, job: _Job, response: httpx.Response) -> Outcome | _Retry:
        status = response.status_code
        if status in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status == 429:
                # Over budget (at the proxy or upstream): the whole endpoint waits, not just this call.
                pause = self._config.pause_on_429_s if retry_after is None else retry_after
                self._limiters[job.request.endpoint].pause_for(pause)
                # A 429 that says when to come back is "wait", not "broken": only the deadline bounds
                # it (several collectors sharing one proxy budget meet it legitimately).
                return self._retry_or_fail(job, "http_429", retry_after, counts=retry_after is None)
            return self._retry_or_fail(job, f"http_{status}", retry_after)
        if status != 200:
            return self._final(job, f"http_{status}")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            # The proxy recorded the broken body in RAW; a cache read a moment later is usually whole.
            return self._retry_or_fail(job, "invalid_json")
        if not isinstance(body, dict) or body.get("success") is not True:
            return self._final(job, "api_error")
        return self._final(job, None, count_offers(body))
