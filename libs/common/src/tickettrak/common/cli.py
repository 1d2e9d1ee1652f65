"""The `tickettrak` command: one CLI whose subcommands are exactly what the containers run.

Each stage package registers its subcommand under the `tickettrak.commands` entry-point group
(see its pyproject.toml), so an image that installs only the loader has only `tickettrak load`,
and the laptop's workspace has them all. Stage `cli` modules stay light: heavy imports happen
inside the command.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import typer

from tickettrak.common.settings import Settings, SettingsError, get_settings

# Order in `--help`: the path of the data.
COMMAND_ORDER = ["run", "sandbox", "proxy", "collect", "load", "transform", "report"]

app = typer.Typer(
    name="tickettrak",
    help="TicketTrak: flight-price intelligence for Russia <-> UAE routes (Aviasales Data API).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


@app.callback()
def _root() -> None:
    """TicketTrak: flight-price intelligence for Russia <-> UAE routes (Aviasales Data API).

    Every subcommand is what one container runs; on a laptop, `tickettrak run` runs them all.
    """


def _register_commands() -> None:
    found = {ep.name: ep for ep in entry_points(group="tickettrak.commands")}
    for name in sorted(found, key=lambda n: (COMMAND_ORDER.index(n) if n in COMMAND_ORDER else 99, n)):
        try:
            command = found[name].load()
        except ImportError as error:  # a broken install must not hide the other commands
            command = _unavailable(name, error)
        app.command(name=name)(command)
    if not found:
        # typer collapses a one-command app; an image always has at least one stage.
        typer.echo("error: no TicketTrak stage is installed in this environment", err=True)
        sys.exit(2)


def _unavailable(name: str, error: ImportError) -> Callable[[], None]:
    def command() -> None:
        raise fail(f"the '{name}' command cannot load in this environment: {error}", code=2)

    command.__doc__ = f"(unavailable here: {error})"
    return command


class StageFailed(Exception):
    """A stage ended with a reason meant for the user (and Kubernetes' termination message)."""


TERMINATION_LOG = Path("/dev/termination-log")


def fail(reason: str, code: int = 1) -> typer.Exit:
    """Print the reason as the last line, write it where Kubernetes looks, and exit non-zero."""
    typer.echo(f"error: {reason}", err=True)
    if TERMINATION_LOG.exists():
        with contextlib.suppress(OSError):  # not writable outside a pod: the stderr line is enough
            TERMINATION_LOG.write_text(reason[:4000])
    return typer.Exit(code)


def main() -> None:
    _register_commands()
    try:
        app()
    except SettingsError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)


def settings_or_exit() -> Settings:
    """For commands: the settings, or one clear line and exit code 2."""
    try:
        return get_settings()
    except SettingsError as error:
        raise fail(str(error), code=2) from None
