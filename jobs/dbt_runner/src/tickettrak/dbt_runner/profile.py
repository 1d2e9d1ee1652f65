"""The dbt profile, written from the TicketTrak settings at run time.

No profile is kept in the repository: `transform` turns the PostgreSQL DSN (configured or
embedded) into `profiles.yml` under `$TICKETTRAK_HOME/dbt/`. The password never goes into the
file: the profile reads it with `env_var()`, and the runner sets that variable in its own process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from psycopg.conninfo import conninfo_to_dict

PROFILE_NAME = "tickettrak"  # matches `profile:` in dbt_project.yml
TARGET_NAME = "tickettrak"
PASSWORD_ENV = "TICKETTRAK_DBT_PASSWORD"  # noqa: S105 (a variable name, not a secret)
DEFAULT_SCHEMA = "dwh"  # models without a schema config; the project sets ods/dwh explicitly


class ProfileError(ValueError):
    """The DSN lacks what dbt needs (e.g. a database name)."""


@dataclass(frozen=True)
class Profile:
    """A dbt-postgres target: `outputs` for profiles.yml, plus the password kept out of it."""

    outputs: dict[str, Any]
    password: str

    def write(self, profiles_dir: Path) -> Path:
        profiles_dir.mkdir(parents=True, exist_ok=True)
        path = profiles_dir / "profiles.yml"
        document = {PROFILE_NAME: {"target": TARGET_NAME, "outputs": {TARGET_NAME: self.outputs}}}
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        path.chmod(0o600)
        return path


def profile_from_dsn(dsn: str, threads: int = 4) -> Profile:
    """The dbt-postgres target for a libpq DSN (URL or key=value; a unix-socket host works)."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception as error:  # psycopg raises ProgrammingError with the parse problem
        raise ProfileError(f"cannot read the PostgreSQL DSN: {error}") from None
    dbname = params.get("dbname")
    if not dbname:
        raise ProfileError("the PostgreSQL DSN names no database (postgresql://user@host:port/DBNAME)")
    outputs: dict[str, Any] = {
        "type": "postgres",
        "host": str(params.get("host") or "localhost"),
        "port": int(params.get("port") or 5432),
        "user": str(params.get("user") or "postgres"),
        "password": "{{ env_var('" + PASSWORD_ENV + "', '') }}",
        "dbname": str(dbname),
        "schema": DEFAULT_SCHEMA,
        "threads": threads,
        "connect_timeout": 30,
    }
    if params.get("sslmode"):
        outputs["sslmode"] = str(params["sslmode"])
    return Profile(outputs=outputs, password=str(params.get("password") or ""))
