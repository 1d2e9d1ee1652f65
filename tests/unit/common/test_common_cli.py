"""The `tickettrak` shell: every stage's command is registered and its `--help` is useful;
user-facing failures end with one redacted line."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import structlog
import typer
from typer.testing import CliRunner

from tickettrak.common import cli, logs

STAGE_COMMANDS = ["run", "sandbox", "proxy", "collect", "load", "transform", "report"]
SERVING_COMMANDS = ["sandbox", "proxy"]  # long-running servers take --host and --port


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    cli.register_commands()
    cli.register_commands()  # idempotent: a second call must not duplicate commands
    return cli.app


def test_every_stage_declares_its_command() -> None:
    declared = {e.name for e in entry_points(group="tickettrak.commands")}
    assert set(STAGE_COMMANDS) <= declared


def test_root_help_lists_commands_in_pipeline_order(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    positions = [result.output.find(f" {name} ") for name in [*STAGE_COMMANDS, "settings"]]
    assert all(p > 0 for p in positions), result.output
    assert positions == sorted(positions)
    names = [c.name for c in app.registered_commands]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", [*STAGE_COMMANDS, "settings"])
def test_command_help_is_useful(app: typer.Typer, name: str) -> None:
    result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "200", "TICKETTRAK_PROXY_URL": "bad"})
    assert result.exit_code == 0, result.output
    assert f"Usage: tickettrak {name}" in result.output
    assert "unavailable here" not in result.output, f"`tickettrak {name}` does not load: {result.output}"
    description = result.output.split("Usage:", 1)[1].split("\n", 2)[2]
    assert len(description.split()) >= 5, f"`tickettrak {name} --help` says too little"
    if name in SERVING_COMMANDS:
        assert "--host" in result.output and "--port" in result.output


def test_fail_redacts_secrets_and_writes_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    termination_log = tmp_path / "termination-log"
    termination_log.touch()
    monkeypatch.setattr(cli, "TERMINATION_LOG", termination_log)
    logs.register_secrets(["fail-secret-token"])
    exit_ = cli.fail(
        "upstream said: bad token fail-secret-token in https://x/?token=fail-secret-token", code=3
    )
    assert exit_.exit_code == 3
    err = capsys.readouterr().err
    assert err == "error: upstream said: bad token *** in https://x/?token=***\n"
    assert termination_log.read_text() == "upstream said: bad token *** in https://x/?token=***"


def test_unloadable_stage_fails_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    command = cli._unavailable("load", ImportError("No module named 'tickettrak.loader.cli'"))
    with pytest.raises(typer.Exit) as caught:
        command()
    assert caught.value.exit_code == 2
    assert "the 'load' command cannot load in this environment" in capsys.readouterr().err


def test_logs_redact_registered_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        logs.configure_logging(fmt="json", level="INFO", secrets=["log-secret-value"])
        logs.get_logger("test").info(
            "calling upstream", url="https://api/?token=log-secret-value", nested={"h": ["log-secret-value"]}
        )
        logs.get_logger("test").debug("below the level")
        lines = capsys.readouterr().err.strip().splitlines()
        event = json.loads(lines[-1])
        assert event["url"] == "https://api/?token=***"
        assert event["nested"] == {"h": ["***"]}
        assert event["level"] == "info" and event["event"] == "calling upstream"
        assert not any("below the level" in line for line in lines)
        assert logs.redact("x log-secret-value y") == "x *** y"
    finally:
        structlog.reset_defaults()
