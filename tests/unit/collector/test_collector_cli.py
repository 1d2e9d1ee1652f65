"""`tickettrak collect` refusals and the dry run: nothing here needs a running service."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import structlog
import typer
from typer.testing import CliRunner

from tests.support import free_port
from tickettrak.collector.cli import collect

app = typer.Typer()
app.command()(collect)
runner = CliRunner()


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The command configures logging onto the runner's captured stream, closed afterwards: undo
    that, so that later tests in this process do not log into a closed file."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def nowhere_proxy(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A proxy URL where nothing listens: any attempt to send would fail loudly."""
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("TICKETTRAK_PROXY_URL", url)
    return url


def test_dry_run_prints_counts_by_endpoint_and_route(nowhere_proxy: str) -> None:
    result = runner.invoke(app, ["--logical-date", "2026-01-30", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "request plan for 2026-01-30: 216 requests" in result.output
    total = next(line for line in result.output.splitlines() if "total" in line and "144" in line)
    assert total.split() == ["│", "total", "│", "72", "│", "144", "│", "216", "│"]
    assert "MOW-DXB" in result.output and "DXB-MOW" in result.output and "OVB-SHJ" in result.output


def test_real_api_mode_refuses_a_past_logical_date(
    nowhere_proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETTRAK_AVIASALES_TOKEN", "real-token-0123456789")
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["--logical-date", yesterday])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert f"--logical-date {yesterday} is not today" in last
    assert "cannot replay another day" in last
    assert "real-token" not in result.output
    # today is fine (a dry run, so that nothing is sent to the real API from a test)
    assert runner.invoke(app, ["--dry-run"]).exit_code == 0


def test_the_sandbox_accepts_any_logical_date(nowhere_proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETTRAK_AVIASALES_TOKEN", "real-token-0123456789")
    monkeypatch.setenv("TICKETTRAK_AVIASALES_BASE_URL", "http://127.0.0.1:9")  # not the real API
    assert runner.invoke(app, ["--logical-date", "2025-03-01", "--dry-run"]).exit_code == 0
    monkeypatch.delenv("TICKETTRAK_AVIASALES_TOKEN")
    monkeypatch.delenv("TICKETTRAK_AVIASALES_BASE_URL")
    assert runner.invoke(app, ["--logical-date", "2025-03-01", "--dry-run"]).exit_code == 0


def test_a_bad_routes_file_stops_at_start_naming_the_field(nowhere_proxy: str, tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "version: 1\nroutes: {origins: [MOW], destinations: [DXB]}\nhorizon: {daily_days: -3, months: 2}\n"
        "trips: {one_way: true}\n"
        "queries: [{endpoint: prices_for_dates, trips: [one_way], departures: [daily]}]\n"
    )
    result = runner.invoke(app, ["--routes", str(routes)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        f"error: {routes}: horizon.daily_days: Input should be greater than or equal to 0"
    )


def test_a_malformed_logical_date_or_run_id_is_refused(nowhere_proxy: str) -> None:
    result = runner.invoke(app, ["--logical-date", "28.11.2026"])
    assert result.exit_code == 2
    assert "--logical-date: expected YYYY-MM-DD, got '28.11.2026'" in result.output
    result = runner.invoke(app, ["--logical-date", "2026-11-28", "--run-id", "my run"])
    assert result.exit_code == 2
    assert "--run-id: use 1-128 ASCII letters" in result.output.strip().splitlines()[-1]


def test_an_unreachable_proxy_fails_with_a_clear_reason(
    nowhere_proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tickettrak.collector.resume.RETRY_BASE_S", 0.01)
    result = runner.invoke(app, ["--logical-date", date.today().isoformat(), "--no-progress"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert f"cannot ask the proxy at {nowhere_proxy}" in last and "TICKETTRAK_PROXY_URL" in last
