"""The issue's "done when": `tickettrak sandbox --port N` answers the documented curl with 20
believable offers (the real command in its own process, as a container runs it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import free_port
from tickettrak.common.settings import SANDBOX_TOKEN

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_tickettrak_sandbox_serves_20_believable_offers(tmp_path: Path) -> None:
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("tickettrak")),
        "sandbox",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log = (tmp_path / "sandbox.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "sandbox.log").read_text()
            try:
                if httpx.get(base + "/__sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the sandbox did not come up"
            time.sleep(0.1)
        depart = date.today() + timedelta(days=40)
        response = httpx.get(
            base + "/aviasales/v3/prices_for_dates",
            params={"origin": "MOW", "destination": "DXB", "departure_at": depart.isoformat(),
                    "return_at": (depart + timedelta(days=5)).isoformat(), "one_way": "false", "limit": 20},
            headers={"X-Access-Token": SANDBOX_TOKEN},
        )  # fmt: skip
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True and body["currency"] == "rub"
        offers = body["data"]
        assert len(offers) == 20
        prices = [o["price"] for o in offers]
        assert prices == sorted(prices) and prices[0] >= 8_000 and prices[-1] <= 60_000
        for offer in offers:
            assert offer["origin"] == "MOW" and offer["destination"] == "DXB"
            assert datetime.fromisoformat(offer["departure_at"]).date() == depart
            assert datetime.fromisoformat(offer["return_at"]).date() == depart + timedelta(days=5)
            assert offer["link"].startswith("/search/MOW") and "search_date=" in offer["link"]
        assert len({o["airline"] for o in offers}) >= 3
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert process.wait(15) in (0, -signal.SIGTERM)
        log.close()
