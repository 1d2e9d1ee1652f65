"""The `tickettrak` command: one CLI whose subcommands are exactly what the containers run.

Each stage package registers its subcommand under the `tickettrak.commands` entry-point group
(see its pyproject.toml), so an image that installs only the loader has only `tickettrak load`,
and the laptop's workspace has them all. Stage `cli` modules stay light: heavy imports happen
inside the command.

Settings: a command validates the settings when it loads them, at its start
(`settings_or_exit()`), all of them at once: one ConfigMap feeds every pod, so a bad variable is
reported by the first command that runs, even one that would not have used it. `--help` never
reads settings. Errors meant for the user end the process with one `error: ...` line (also
written to /dev/termination-log in a pod), never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import typer

from tickettrak.common.settings import Settings, SettingsError, get_settings

# Order in `--help`: the path of the data, then the diagnostics.
COMMAND_ORDER = ["run", "sandbox", "proxy", "collect", "load", "transform", "report", "settings"]

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
    Configuration comes from `TICKETTRAK_*` environment variables or a `.env` file
    (`tickettrak settings` shows them).
    """


def settings_command() -> None:
    """Check the TICKETTRAK_* settings and show them (secrets only as set / not set).

    Exits with code 2 and one line naming the variable when a setting is invalid.
    """
    from rich.console import Console
    from rich.table import Table

    settings = settings_or_exit()
    table = Table(title="TicketTrak settings", show_lines=False)
    table.add_column("variable")
    table.add_column("value")
    for name, value in settings.describe().items():
        table.add_row(name, value)
    Console().print(table)


_registered = False


def register_commands() -> None:
    """Add every installed stage's subcommand to `app` (once per process)."""
    global _registered
    if _registered:
        return
    _registered = True
    found: dict[str, Callable[..., object]] = {}
    for entry in entry_points(group="tickettrak.commands"):
        try:
            found[entry.name] = entry.load()
        except ImportError as error:  # a broken install must not hide the other commands
            found[entry.name] = _unavailable(entry.name, error)
    found["settings"] = settings_command
    for name in sorted(found, key=lambda n: (COMMAND_ORDER.index(n) if n in COMMAND_ORDER else 99, n)):
        app.command(name=name)(found[name])


def _unavailable(name: str, error: ImportError) -> Callable[[], None]:
    def command() -> None:
        raise fail(f"the '{name}' command cannot load in this environment: {error}", code=2)

    command.__doc__ = f"(unavailable here: {error})"
    return command


class StageFailed(Exception):
    """A stage ended with a reason meant for the user (and Kubernetes' termination message)."""


TERMINATION_LOG = Path("/dev/termination-log")


def fail(reason: str, code: int = 1) -> typer.Exit:
    """Print the reason as the last line, write it where Kubernetes looks, and exit non-zero.

    Use as `raise fail("why")`. The reason passes through secret redaction first: it may quote
    an upstream message that echoed a URL.
    """
    from tickettrak.common.logs import redact

    reason = redact(reason)
    typer.echo(f"error: {reason}", err=True)
    if TERMINATION_LOG.exists():
        with contextlib.suppress(OSError):  # not writable outside a pod: the stderr line is enough
            TERMINATION_LOG.write_text(reason[:4000])
    return typer.Exit(code)


def _user_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose message is written for the user: one line, no traceback."""
    from tickettrak.common.embedded.mongo import RawStoreConfigError
    from tickettrak.common.embedded.postgres import EmbeddedPostgresError

    return (StageFailed, EmbeddedPostgresError, RawStoreConfigError)


def main() -> None:
    register_commands()
    try:
        app()
    except SettingsError as error:  # a command read settings without settings_or_exit()
        sys.exit(fail(str(error), code=2).exit_code)
    except _user_errors() as error:
        sys.exit(fail(str(error)).exit_code)
    except OSError as error:  # e.g. a read-only or full TICKETTRAK_HOME: the OS's reason and the path
        sys.exit(fail(f"cannot use the file system: {error}").exit_code)


def settings_or_exit() -> Settings:
    """For commands: the settings, or one clear line and exit code 2."""
    try:
        settings = get_settings()
    except SettingsError as error:
        raise fail(str(error), code=2) from None
    from tickettrak.common.logs import register_secrets

    register_secrets(settings.secret_values())
    return settings
