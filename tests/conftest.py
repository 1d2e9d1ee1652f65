"""Shared test fixtures. Service fixtures live in plugin modules under tests/fixtures/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = REPO_ROOT.parent / "shared" / "fixtures" / "aviasales"

pytest_plugins: list[str] = ["tests.fixtures.postgres", "tests.fixtures.sandbox", "tests.fixtures.ferretdb"]


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The real recorded Aviasales responses (read-only, shared with every developer and CI)."""
    assert FIXTURES_DIR.is_dir(), f"recorded API responses not found at {FIXTURES_DIR}"
    return FIXTURES_DIR


@pytest.fixture
def tt_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean TicketTrak environment: TICKETTRAK_HOME in a temp dir, no inherited settings."""
    import os

    for key in list(os.environ):
        if key.startswith("TICKETTRAK_") and not key.startswith("TICKETTRAK_TEST_"):
            monkeypatch.delenv(key)
    home = tmp_path / "tt-home"
    monkeypatch.setenv("TICKETTRAK_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # no stray .env from the repo root
    from tickettrak.common.settings import get_settings

    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()
