"""The generated dbt profile: right target from any DSN form, and never the password itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tickettrak.dbt_runner.profile import PASSWORD_ENV, ProfileError, profile_from_dsn


def test_url_dsn_with_password_keeps_the_password_out_of_the_file(tmp_path: Path) -> None:
    profile = profile_from_dsn("postgresql://etl:s3cret-pw@db.example:6543/warehouse?sslmode=require")
    path = profile.write(tmp_path)
    text = path.read_text()
    assert "s3cret-pw" not in text
    assert profile.password == "s3cret-pw"
    target = yaml.safe_load(text)["tickettrak"]["outputs"]["tickettrak"]
    assert target["password"] == "{{ env_var('" + PASSWORD_ENV + "', '') }}"
    assert (target["host"], target["port"], target["user"], target["dbname"]) == (
        "db.example",
        6543,
        "etl",
        "warehouse",
    )
    assert target["sslmode"] == "require"
    assert target["type"] == "postgres"
    assert path.stat().st_mode & 0o077 == 0  # readable by the owner only


def test_embedded_unix_socket_dsn() -> None:
    target = profile_from_dsn("postgresql://postgres:@/tickettrak?host=/tmp/tt/postgres").outputs
    assert target["host"] == "/tmp/tt/postgres"
    assert target["port"] == 5432
    assert target["dbname"] == "tickettrak"
    assert target["user"] == "postgres"


def test_keyword_dsn() -> None:
    profile = profile_from_dsn("host=localhost port=5433 dbname=dwh user=u password=p")
    assert profile.outputs["port"] == 5433 and profile.password == "p"


@pytest.mark.parametrize("dsn", ["postgresql://u@host:5432", "not a dsn ==="])
def test_unusable_dsn_is_a_clear_error(dsn: str) -> None:
    with pytest.raises(ProfileError):
        profile_from_dsn(dsn)
