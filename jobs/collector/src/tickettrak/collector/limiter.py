"""A client-side rate limiter per endpoint: evenly spaced send slots.

Why even spacing and not a burst-then-wait window: the proxy protects the token with its own
bucket and the real API blocks a token for the rest of the minute once it is over; a steady
stream at just under the limit is both the fastest way through a long plan and the one that never
trips either of them. Consecutive slots are at least `interval` apart, so any `per_minute + 1`
sends span more than a minute: no 60 s window ever holds more than `per_minute` sends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Slack on top of 60 s / limit: absorbs the proxy's variable forwarding delay (the upstream sees our
# sends shifted by a few ms each) and the clock granularity. 1 % costs 1 % of throughput.
DEFAULT_MARGIN = 0.01


class RateLimiter:
    def __init__(
        self,
        per_minute: float,
        *,
        margin: float = DEFAULT_MARGIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError(f"per_minute must be positive, got {per_minute}")
        self.per_minute = per_minute
        self.interval = 60.0 * (1.0 + margin) / per_minute
        self._clock = clock
        self._sleep = sleep
        self._next_slot = float("-inf")

    def reserve(self) -> float:
        """Take the next free slot; return how long to wait for it (0 when it is now)."""
        now = self._clock()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        return slot - now

    async def acquire(self) -> None:
        # reserve() runs without an await in between, so concurrent callers get distinct slots
        # in arrival order without a lock. A caller cancelled while waiting wastes its slot:
        # that errs on the polite side.
        delay = self.reserve()
        if delay > 0:
            await self._sleep(delay)

    def pause_for(self, seconds: float) -> None:
        """No slot before `seconds` from now (the server said Retry-After: the token is blocked)."""
        self._next_slot = max(self._next_slot, self._clock() + seconds)
