"""The per-endpoint limiter: no 60 s window ever holds more sends than the limit."""

from __future__ import annotations

import asyncio
import bisect

import pytest

from tickettrak.collector.limiter import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def max_in_any_window(times: list[float], window: float = 60.0) -> int:
    """The most sends inside any half-open window [t, t + window) (a window starting at a send)."""
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered))


@pytest.mark.parametrize("per_minute", [7, 60, 600])
async def test_sequential_sends_never_exceed_the_limit_yet_use_it(per_minute: int) -> None:
    fake = FakeTime()
    limiter = RateLimiter(per_minute, clock=fake.clock, sleep=fake.sleep)
    sends = []
    for _ in range(per_minute * 3):
        await limiter.acquire()
        sends.append(fake.now)
    most = max_in_any_window(sends)
    assert per_minute * 0.99 - 1 <= most <= per_minute
    assert max_in_any_window(sends, 60.0 * 1.01) <= per_minute + 1  # the 1 % margin is the only slack
    span = sends[-1] - sends[0]
    assert span == pytest.approx((len(sends) - 1) * 60 * 1.01 / per_minute)  # rate >= 99 % of the limit


def test_reservations_do_not_catch_up_after_an_idle_gap() -> None:
    fake = FakeTime()
    limiter = RateLimiter(60, margin=0.0, clock=fake.clock, sleep=fake.sleep)
    assert limiter.reserve() == 0
    fake.now += 30  # idle: no burst of 30 saved-up slots afterwards
    assert limiter.reserve() == 0
    assert limiter.reserve() == pytest.approx(1.0)
    assert limiter.reserve() == pytest.approx(2.0)


def test_pause_for_pushes_every_later_slot() -> None:
    fake = FakeTime()
    limiter = RateLimiter(60, margin=0.0, clock=fake.clock, sleep=fake.sleep)
    limiter.reserve()
    limiter.pause_for(10)
    assert limiter.reserve() == pytest.approx(10)
    assert limiter.reserve() == pytest.approx(11)


async def test_concurrent_callers_never_send_before_their_own_slot() -> None:
    limiter = RateLimiter(1200, margin=0.0)  # one slot every 50 ms
    loop = asyncio.get_running_loop()
    stamps: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        stamps.append(loop.time())

    started = loop.time()
    await asyncio.gather(*(one() for _ in range(8)))
    # A busy machine may wake a caller late (never early): the i-th send is never before slot i.
    for i, stamp in enumerate(sorted(stamps)):
        assert stamp - started >= i * 0.05 - 0.002


def test_a_non_positive_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)
