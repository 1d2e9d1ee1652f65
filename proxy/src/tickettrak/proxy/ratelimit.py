"""Per-endpoint request budget: at most N upstream calls in any rolling 60 seconds.

A sliding-window log rather than a classic token bucket: a bucket of capacity C refilled at N per
minute lets C + N calls through in some 60-second window, and the Data API blocks the token for the
rest of the minute as soon as it sees N + 1. The log keeps the exact timestamps of the last N
calls (600 floats at most), so the promise "never more than N in any minute" holds exactly.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(self, per_window: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        if per_window < 1:
            raise ValueError("per_window must be at least 1")
        self.per_window = per_window
        self.window_s = window_s
        self._clock = clock
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0

    def try_acquire(self) -> float | None:
        """Take one call from the budget: None if allowed now, else the seconds until it would be."""
        now = self._clock()
        if now < self._blocked_until:
            return self._blocked_until - now
        while self._sent and self._sent[0] <= now - self.window_s:
            self._sent.popleft()
        if len(self._sent) >= self.per_window:
            return self._sent[0] + self.window_s - now
        self._sent.append(now)
        return None

    def block_for(self, seconds: float) -> None:
        """Upstream said 429: send nothing more to this endpoint for `seconds`."""
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
