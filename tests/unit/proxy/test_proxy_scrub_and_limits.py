"""Token scrubbing in every recognisable form, and the per-endpoint rolling-minute budget."""

from __future__ import annotations

import json

import pytest

from tickettrak.proxy.config import ProxySettings
from tickettrak.proxy.ratelimit import SlidingWindowLimiter
from tickettrak.proxy.scrub import TokenScrubber

TOKEN = "tt-s3cret/+x y\u00e9"


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"error": f"bad token {TOKEN}"}, ensure_ascii=False),
        json.dumps({"error": f"bad token {TOKEN}"}),  # \u00e9 escaped
        json.dumps({"url": "https://api/x?token=" + __import__("urllib.parse").parse.quote(TOKEN, safe="")}),
        json.dumps({"url": "https://api/x?token=" + __import__("urllib.parse").parse.quote_plus(TOKEN)}),
        '{"e": "' + "".join(f"\\u{ord(c):04x}" for c in TOKEN) + '"}',
        '{"e": "' + TOKEN.replace("/", "\\/") + '"}',
        f"<html>token={TOKEN}</html>",
    ],
)
def test_every_form_of_the_token_is_masked(body: str) -> None:
    scrubber = TokenScrubber([TOKEN])
    content, changed = scrubber.content(body.encode())
    assert changed
    text = content.decode()
    assert TOKEN not in text and "s3cret" not in text
    if body.startswith("{"):
        assert TOKEN not in json.dumps(json.loads(text), ensure_ascii=False)


def test_bodies_without_the_token_are_untouched() -> None:
    scrubber = TokenScrubber([TOKEN])
    body = b'{"data": "\\u0041 \\/search"}'
    assert scrubber.content(body) == (body, False)
    assert scrubber.text("nothing here") == "nothing here"


def test_limiter_allows_exactly_n_in_any_rolling_minute() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(3, clock=lambda: now[0])
    assert [limiter.try_acquire() for _ in range(3)] == [None, None, None]
    assert limiter.try_acquire() == pytest.approx(60.0)
    now[0] += 59.5
    assert limiter.try_acquire() == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.try_acquire() is None
    limiter.block_for(10)
    now[0] += 100
    assert limiter.try_acquire() is None  # the block is over
    limiter.block_for(10)
    assert limiter.try_acquire() == pytest.approx(10)


def test_limits_come_from_the_registry_and_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProxySettings(rate_limit_fraction=1.0).per_minute("prices_for_dates") == 600
    assert ProxySettings(rate_limit_fraction=0.5).per_minute("month_matrix") == 150
    monkeypatch.setenv("TICKETTRAK_PROXY_RATE_LIMITS", '{"month_matrix": 7}')
    assert ProxySettings().per_minute("month_matrix") == 7
    with pytest.raises(ValueError, match="unknown endpoints"):
        ProxySettings(rate_limits={"nope": 1})
