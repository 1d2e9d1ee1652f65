"""Settings: the TICKETTRAK_* names are a public contract; bad values stop with one clear line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tickettrak.common.settings import SANDBOX_TOKEN, Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[3]
TICKETTRAK = REPO / ".venv" / "bin" / "tickettrak"

# The README's table, as a contract: variable -> default as the Settings object shows it.
CONTRACT = {
    "TICKETTRAK_AVIASALES_TOKEN": "not set",
    "TICKETTRAK_AVIASALES_BASE_URL": "https://api.travelpayouts.com",
    "TICKETTRAK_PROXY_URL": "http://127.0.0.1:8080",
    "TICKETTRAK_MONGO_URI": "not set",
    "TICKETTRAK_MONGO_DATABASE": "tickettrak",
    "TICKETTRAK_POSTGRES_DSN": "not set",
    "TICKETTRAK_HOME": ".tickettrak",
    "TICKETTRAK_LOG_FORMAT": "auto",
    "TICKETTRAK_LOG_LEVEL": "INFO",
}


def test_every_variable_name_and_default(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TICKETTRAK_HOME")
    settings = load_settings()
    assert settings.describe() == CONTRACT
    assert settings.uses_sandbox and settings.upstream_token == SANDBOX_TOKEN
    assert not settings.uses_real_api
    assert settings.home_dir == (tt_env.parent / ".tickettrak").resolve()


def test_every_variable_is_read(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "TICKETTRAK_AVIASALES_TOKEN": "real-token-123",
        "TICKETTRAK_AVIASALES_BASE_URL": "http://127.0.0.1:8090/",
        "TICKETTRAK_PROXY_URL": "http://proxy.tickettrak.svc:8080",
        "TICKETTRAK_MONGO_URI": "mongodb://raw:mongo-pass@mongo:27017/?authSource=admin",
        "TICKETTRAK_MONGO_DATABASE": "raw_test",
        "TICKETTRAK_POSTGRES_DSN": "postgresql://dwh:pg-pass@db:5432/tickettrak",
        "TICKETTRAK_HOME": "/srv/tt",
        "TICKETTRAK_LOG_FORMAT": "JSON",
        "TICKETTRAK_LOG_LEVEL": "debug",
    }
    assert set(values) == set(CONTRACT)
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    s = load_settings()
    assert s.aviasales_token.get_secret_value() == "real-token-123"
    assert s.aviasales_base_url == "http://127.0.0.1:8090"  # trailing slash dropped
    assert s.proxy_url == "http://proxy.tickettrak.svc:8080"
    assert s.mongo_uri is not None and s.mongo_uri.get_secret_value().startswith("mongodb://raw:")
    assert s.mongo_database == "raw_test"
    assert s.postgres_dsn is not None and s.postgres_dsn.get_secret_value().endswith("@db:5432/tickettrak")
    assert s.home == Path("/srv/tt")
    assert (s.log_format, s.log_level) == ("json", "DEBUG")
    assert not s.uses_sandbox and s.upstream_token == "real-token-123"
    assert not s.uses_real_api  # a token, but the base URL is not the real API
    assert sorted(s.secret_values()) == ["mongo-pass", "pg-pass", "real-token-123"]


def test_empty_values_mean_unset(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("TICKETTRAK_AVIASALES_TOKEN", "TICKETTRAK_MONGO_URI", "TICKETTRAK_POSTGRES_DSN"):
        monkeypatch.setenv(key, "")
    s = load_settings()
    assert s.uses_sandbox and s.mongo_uri is None and s.postgres_dsn is None


def test_dotenv_is_read_and_environment_wins(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text(
        "TICKETTRAK_AVIASALES_TOKEN=from-dotenv-token\n"
        "TICKETTRAK_MONGO_DATABASE=from_dotenv\n"
        "UNRELATED_VARIABLE=ignored\n"
    )
    monkeypatch.setenv("TICKETTRAK_MONGO_DATABASE", "from_env")
    s = load_settings()
    assert s.aviasales_token.get_secret_value() == "from-dotenv-token"
    assert s.mongo_database == "from_env"


def test_dotenv_errors_name_the_variable(tt_env: Path) -> None:
    Path(".env").write_text("TICKETTRAK_PROXY_URL=proxy:8080\n")
    with pytest.raises(SettingsError, match=r"^TICKETTRAK_PROXY_URL: must be an http\(s\) URL"):
        load_settings()


def test_secrets_never_in_repr_or_dumps(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETTRAK_AVIASALES_TOKEN", "tok-SECRET-1")
    monkeypatch.setenv("TICKETTRAK_MONGO_URI", "mongodb://u:mongo-SECRET-2@h:27017/")
    monkeypatch.setenv("TICKETTRAK_POSTGRES_DSN", "host=db dbname=dwh user=u password=pg-SECRET-3")
    s = load_settings()
    shown = " ".join([repr(s), str(s), s.model_dump_json(), str(s.model_dump()), str(s.describe())])
    assert "SECRET" not in shown
    assert s.describe()["TICKETTRAK_POSTGRES_DSN"] == "set (hidden)"
    assert "pg-SECRET-3" in s.secret_values()  # key=value DSNs give their password to redaction too


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TICKETTRAK_POSTGRES_DSN", "not a dsn", "is not a PostgreSQL DSN"),
        ("TICKETTRAK_POSTGRES_DSN", "mysql://u:p@h/db", "got scheme 'mysql'"),
        ("TICKETTRAK_POSTGRES_DSN", "postgresql://u:p@h:54x2/db", "invalid port '54x2'"),
        ("TICKETTRAK_POSTGRES_DSN", "postgresql://h/db?nosuchoption=1", "is not a PostgreSQL DSN"),
        ("TICKETTRAK_MONGO_URI", "postgresql://h/db", "must start with mongodb:// or mongodb+srv://"),
        ("TICKETTRAK_MONGO_URI", "localhost:27017", "got no scheme"),
        ("TICKETTRAK_MONGO_URI", "mongodb://", "is not a valid MongoDB URI"),
        ("TICKETTRAK_MONGO_URI", "mongodb+srv://", "must name a host"),
        ("TICKETTRAK_PROXY_URL", "127.0.0.1:8080", "must be an http(s) URL"),
        ("TICKETTRAK_AVIASALES_BASE_URL", "ftp://api.travelpayouts.com", "must be an http(s) URL"),
        ("TICKETTRAK_AVIASALES_BASE_URL", "http://host:0", "must be an http(s) URL"),
        ("TICKETTRAK_MONGO_DATABASE", "raw/db", "must be 1-63 letters"),
        ("TICKETTRAK_LOG_FORMAT", "xml", "Input should be 'auto', 'json' or 'console'"),
        ("TICKETTRAK_LOG_LEVEL", "loud", "Input should be 'DEBUG'"),
    ],
)
def test_bad_value_names_the_variable(
    tt_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert expected in message
    assert "\n" not in message


def test_error_messages_do_not_leak_passwords(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETTRAK_POSTGRES_DSN", "user=u password=pg-LEAK-1 nonsense")
    with pytest.raises(SettingsError) as pg_error:
        load_settings()
    monkeypatch.delenv("TICKETTRAK_POSTGRES_DSN")
    monkeypatch.setenv("TICKETTRAK_MONGO_URI", "mongodb://u:mongo-LEAK-2@h:notaport/")
    with pytest.raises(SettingsError) as mongo_error:
        load_settings()
    assert "LEAK" not in str(pg_error.value) + str(mongo_error.value)


def test_several_bad_values_still_one_line(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETTRAK_PROXY_URL", "nope")
    monkeypatch.setenv("TICKETTRAK_LOG_LEVEL", "nope")
    with pytest.raises(SettingsError, match=r"^TICKETTRAK_PROXY_URL: .*\(and 1 more invalid setting\)$"):
        load_settings()


def test_settings_class_has_exactly_the_contract_fields() -> None:
    assert {f"TICKETTRAK_{name.upper()}" for name in Settings.model_fields} == set(CONTRACT)


# --- through the real `tickettrak` executable ----------------------------------------------------
def _run_cli(args: list[str], env_extra: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    env |= {"TICKETTRAK_HOME": str(cwd / "home"), **env_extra}
    return subprocess.run(
        [str(TICKETTRAK), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TICKETTRAK_POSTGRES_DSN", "postgresql://u:cli-SECRET@db:port/x"),
        ("TICKETTRAK_MONGO_URI", "redis://u:cli-SECRET@cache:6379"),
        ("TICKETTRAK_PROXY_URL", "proxy-without-scheme:8080"),
    ],
)
def test_cli_stops_with_one_line_and_no_traceback(tmp_path: Path, variable: str, value: str) -> None:
    assert TICKETTRAK.exists(), "the tickettrak executable is installed in .venv"
    result = _run_cli(["settings"], {variable: value}, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {variable}: ")
    assert "Traceback" not in result.stderr and "cli-SECRET" not in result.stderr


def test_cli_reads_dotenv_in_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TICKETTRAK_MONGO_DATABASE=from_dotenv\nTICKETTRAK_AVIASALES_TOKEN=dotenv-tok\n"
    )
    result = _run_cli(["settings"], {"COLUMNS": "200"}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "from_dotenv" in result.stdout
    assert "dotenv-tok" not in result.stdout and "set (hidden)" in result.stdout


def test_help_reads_no_settings(tt_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tickettrak.common import cli

    monkeypatch.setenv("TICKETTRAK_POSTGRES_DSN", "garbage")
    cli.register_commands()
    result = CliRunner().invoke(cli.app, ["settings", "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: tickettrak settings" in result.output
    result = CliRunner().invoke(cli.app, ["settings"])
    assert result.exit_code == 2
    assert "TICKETTRAK_POSTGRES_DSN: is not a PostgreSQL DSN" in result.output
