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

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "TICKETTRAK_"

# The sandbox accepts this token and nothing else (see sandbox/README). It is not a secret: it
# only opens the local simulated API. The proxy uses it when no real token is configured.
SANDBOX_TOKEN = "tickettrak-sandbox"  # noqa: S105 (public by design)

REAL_API_BASE_URL = "https://api.travelpayouts.com"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the environment variable."""


def _check_http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL like https://host[:port], got {value!r}")
    return value.rstrip("/")


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
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("aviasales_base_url", "proxy_url")
    @classmethod
    def _http_url(cls, value: str, info: ValidationInfo) -> str:
        return _check_http_url(value, info.field_name or "")

    @field_validator("mongo_uri")
    @classmethod
    def _mongo_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        scheme = value.get_secret_value().split("://", 1)[0]
        if scheme not in ("mongodb", "mongodb+srv"):
            raise ValueError(f"must start with mongodb:// or mongodb+srv://, got scheme {scheme!r}")
        return value

    @field_validator("postgres_dsn")
    @classmethod
    def _postgres_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        dsn = value.get_secret_value()
        if not re.match(r"^postgres(ql)?://[^/\s]*", dsn):
            raise ValueError("must be a URL like postgresql://user:password@host:5432/dbname")
        return value

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

    def secret_values(self) -> list[str]:
        """Every configured secret string, for log redaction. Empty ones are left out."""
        secrets = [self.aviasales_token.get_secret_value()]
        for dsn in (self.mongo_uri, self.postgres_dsn):
            if dsn is not None:
                password = urlsplit(dsn.get_secret_value()).password
                if password:
                    secrets.append(password)
        return [s for s in secrets if s and len(s) >= 4]


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "?"
    message = first["msg"].removeprefix("Value error, ")
    return f"{ENV_PREFIX}{field.upper()}: {message}"


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
