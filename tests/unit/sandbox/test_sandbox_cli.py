"""`tickettrak sandbox`: bad options stop with one clear line (exit 2) before anything binds."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from tickettrak.sandbox.cli import sandbox


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    app.command()(sandbox)
    return app


def test_help_names_the_token_and_the_options(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--host",
        "--port",
        "--seed",
        "--token",
        "--as-of",
        "--rate-limit",
        "--rate-limit-scale",
        "--faults",
    ):
        assert option in result.output
    assert "tickettrak-sandbox" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "28.11.2026"], "--as-of must be YYYY-MM-DD"),
        (["--rate-limit", "prices_for_dates"], "--rate-limit must be NAME=N"),
        (["--rate-limit", "prices=5"], "unknown endpoint 'prices'"),
        (["--faults", "{not json"], "not a valid fault config"),
        (["--faults", '{"error_5xx": 3}'], "not a valid fault config"),
    ],
)
def test_bad_options_fail_with_one_line(app: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last
    assert "Traceback" not in result.output


def test_faults_can_come_from_the_environment(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, [], env={"TICKETTRAK_SANDBOX_FAULTS": '{"stall": "often"}'})
    assert result.exit_code == 2 and "TICKETTRAK_SANDBOX_FAULTS" in result.output


def test_a_busy_port_is_one_clear_line(app: typer.Typer) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["--host", "127.0.0.1", "--port", str(port)])
    assert result.exit_code == 2
    assert (
        result.output.strip().splitlines()[-1]
        == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
