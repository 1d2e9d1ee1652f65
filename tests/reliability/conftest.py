"""The reliability suite (issue 10): faults survived, hostile input, secrets, hardening.

Every test here is marked `reliability` (added below, no per-test decoration) so that the suite can
be selected (`pytest -m reliability`) or left out (`-m "not reliability"`). It reuses the other
areas' fixtures rather than starting its own copies: the sandbox, FerretDB and PostgreSQL plugins
(tests/conftest.py) and the collector's proxy-process stack (imported below).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# The collector's stack: the sandbox in-process + `tickettrak proxy` as a real process.
from tests.integration.collector.conftest import collector_stack  # noqa: F401 (a fixture)

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: cross-cutting fault, hostile-input and secret tests (tests/reliability)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.reliability)
            item.add_marker(pytest.mark.integration)
