"""Settings: one place, environment variables with the `TICKETTRAK_` prefix (and `.env`).

The variable names are a public contract documented in the README. Secrets are `SecretStr`, so
they never print in a repr, a log line or a traceback. A bad value stops the program with one
line naming the variable (`SettingsError`), never a traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TICKETTRAK_"

# The sandbox accepts this token and nothing else (see sandbox/README). It is not a secret: it
# only opens the local simulated API. The proxy uses it when no real token is configured.
SANDBOX_TOKEN = "tickettrak-sandbox"  # noqa: S105 (public by design)

REAL_API_BASE_URL = "https://api.travelpayouts.com"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


def _check_http_url(value: str) -> str:
    value = value.strip()
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        shown = parts._replace(netloc=parts.hostname or "").geturl() if parts.password else value
        raise ValueError(f"must be an http(s) URL like https://host[:port], got {shown!r}")
    return value.rstrip("/")


def _check_mongo_uri(uri: str) -> str:
    """A MongoDB connection string, checked without connecting (and without DNS for +srv)."""
    scheme = uri.split("://", 1)[0] if "://" in uri else ""
    if scheme not in ("mongodb", "mongodb+srv"):
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise ValueError(f"must start with mongodb:// or mongodb+srv://, got {shown}")
    if scheme == "mongodb+srv":  # parsing it would resolve DNS records; check the host only
        if not urlsplit(uri).hostname:
            raise ValueError("must name a host: mongodb+srv://user:password@cluster.example.net/")
        return uri
    from pymongo.errors import PyMongoError
    from pymongo.uri_parser import parse_uri

    try:
        parse_uri(uri)
    except (PyMongoError, ValueError) as error:
        raise ValueError(f"is not a valid MongoDB URI: {_scrub(str(error), uri)}") from None
    return uri


def _check_postgres_dsn(dsn: str) -> str:
    """A libpq connection string (URL or key=value form), parsed by libpq itself, no connection."""
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    example = "postgresql://user:password@host:5432/dbname"
    if "://" in dsn and not re.match(r"postgres(ql)?://", dsn):
        raise ValueError(f"must be a URL like {example}, got scheme {dsn.split('://', 1)[0]!r}")
    try:
        params = conninfo_to_dict(dsn)
    except ProgrammingError:
        # libpq's message quotes the input, which may hold a password: say it our way.
        raise ValueError(f"is not a PostgreSQL DSN; expected {example} or 'host=... dbname=...'") from None
    port = str(params.get("port", "5432"))
    if not all(p.isdigit() and 0 < int(p) < 65536 for p in port.split(",")):
        raise ValueError(f"has an invalid port {port!r}; expected {example}")
    return dsn


def _postgres_password(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(dsn).get("password") or "")


def _scrub(message: str, uri: str) -> str:
    """`message` without the URI's password (parsers sometimes quote their input)."""
    try:
        password = urlsplit(uri).password
    except ValueError:
        password = None
    return message.replace(password, "***") if password else message


SECRET_FIELDS = frozenset({"aviasales_token", "mongo_uri", "postgres_dsn"})


class Settings(BaseSettings):
    """Every knob of TicketTrak. Field `x` is read from `TICKETTRAK_X`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    aviasales_token: SecretStr = Field(
        default=SecretStr(""), description="Aviasales Data API token; empty means use the sandbox."
    )
    aviasales_base_url: str = Field(
        default=REAL_API_BASE_URL, description="Upstream API base the proxy calls."
    )
    proxy_url: str = Field(default="http://127.0.0.1:8080", description="Where stages reach the proxy.")
    mongo_uri: SecretStr | None = Field(
        default=None, description="mongodb://... for a real MongoDB; unset means the embedded RAW store."
    )
    mongo_database: str = Field(default="tickettrak", description="Database that holds the RAW collections.")
    postgres_dsn: SecretStr | None = Field(
        default=None, description="postgresql://... DSN; unset means the embedded PostgreSQL."
    )
    home: Path = Field(default=Path(".tickettrak"), description="Where embedded data, logs and reports live.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="auto: console on a terminal, JSON lines otherwise."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Lowest level logged (any case)."
    )

    @field_validator("aviasales_base_url", "proxy_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("mongo_uri")
    @classmethod
    def _mongo_uri(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(_check_mongo_uri(value.get_secret_value().strip()))

    @field_validator("postgres_dsn")
    @classmethod
    def _postgres_dsn(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        return SecretStr(_check_postgres_dsn(value.get_secret_value().strip()))

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("mongo_database")
    @classmethod
    def _mongo_db_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,63}", value):
            raise ValueError("must be 1-63 letters, digits, '_' or '-'")
        return value

    # --- derived views -------------------------------------------------------------------------
    @property
    def uses_sandbox(self) -> bool:
        """No token configured: the proxy talks to the sandbox with the sandbox's token."""
        return not self.aviasales_token.get_secret_value()

    @property
    def upstream_token(self) -> str:
        return self.aviasales_token.get_secret_value() or SANDBOX_TOKEN

    @property
    def uses_real_api(self) -> bool:
        return not self.uses_sandbox and self.aviasales_base_url == REAL_API_BASE_URL

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    def describe(self) -> dict[str, str]:
        """Every setting by variable name, for people: secrets only as "set" / "not set"."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) or (value is None and name in SECRET_FIELDS):
                text = "set (hidden)" if value is not None and value.get_secret_value() else "not set"
            else:
                text = str(value)
            shown[f"{ENV_PREFIX}{name.upper()}"] = text
        return shown

    def secret_values(self) -> list[str]:
        """Every configured secret string, for log redaction. Empty ones are left out."""
        secrets = [self.aviasales_token.get_secret_value()]
        if self.mongo_uri is not None:
            secrets.append(urlsplit(self.mongo_uri.get_secret_value()).password or "")
        if self.postgres_dsn is not None:
            secrets.append(_postgres_password(self.postgres_dsn.get_secret_value()))
        return [s for s in secrets if s and len(s) >= 4]


def _describe(error: ValidationError) -> str:
    """One line: the first bad variable and why (pydantic's own text names no variable)."""
    errors = error.errors(include_input=False, include_url=False)
    first = errors[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    message = first["msg"].removeprefix("Value error, ")
    more = len({e["loc"][:1] for e in errors}) - 1
    suffix = f" (and {more} more invalid setting{'s' if more > 1 else ''})" if more > 0 else ""
    return f"{ENV_PREFIX}{field.upper()}: {message}{suffix}"


def load_settings(**overrides: object) -> Settings:
    """Read the settings from the environment, or raise `SettingsError` naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
