"""The proxy's own knobs (`TICKETTRAK_PROXY_*`); the shared ones (token, upstream, RAW) are in Settings."""

from __future__ import annotations

import math

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tickettrak.common.endpoints import ENDPOINTS


class ProxySettings(BaseSettings):
    """Field `x` is read from `TICKETTRAK_PROXY_X`."""

    model_config = SettingsConfigDict(env_prefix="TICKETTRAK_PROXY_", extra="ignore")

    rate_limit_fraction: float = Field(
        default=0.95,
        gt=0,
        le=1,
        description="Share of each documented per-minute limit this process may use "
        "(the limit is per token: with N proxy replicas set it to at most 1/N).",
    )
    rate_limits: dict[str, int] = Field(
        default_factory=dict,
        description="Per-endpoint per-minute limits overriding the documented ones (JSON), "
        'e.g. {"month_matrix": 60}.',
    )
    upstream_429_cooldown_s: float = Field(
        default=60.0,
        ge=0,
        description="After an upstream 429 without Retry-After, pause that endpoint this long.",
    )
    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    total_timeout_s: float = Field(default=45.0, gt=0, description="Deadline of one whole upstream exchange.")
    max_body_bytes: int = Field(
        default=12 * 1024 * 1024,
        gt=0,
        description="Larger upstream bodies cannot be stored in RAW (BSON 16 MB).",
    )
    raw_write_timeout_s: float = Field(default=10.0, gt=0)
    raw_ping_timeout_s: float = Field(default=1.5, gt=0)
    raw_batch_max: int = Field(default=64, ge=1, description="Most RAW documents written in one round trip.")
    max_connections: int = Field(default=64, ge=1, description="Concurrent upstream connections.")

    @field_validator("rate_limits")
    @classmethod
    def _known_endpoints(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ENDPOINTS))
        if unknown:
            raise ValueError(f"unknown endpoints {unknown}; known: {sorted(ENDPOINTS)}")
        if any(v < 1 for v in value.values()):
            raise ValueError("limits must be at least 1 request per minute")
        return value

    def per_minute(self, endpoint: str) -> int:
        """Requests per rolling minute this process may send to `endpoint`."""
        if endpoint in self.rate_limits:
            return self.rate_limits[endpoint]
        return max(1, math.floor(ENDPOINTS[endpoint].per_minute * self.rate_limit_fraction))
