"""Run dbt in this process (dbt's own `dbtRunner` API) and reduce its result to a summary.

In-process rather than a subprocess: dbt's results come back as objects (no log parsing), and a
second command in the same process skips dbt's start-up. dbt still prints its usual progress lines.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tickettrak.dbt_runner.profile import PASSWORD_ENV, Profile
from tickettrak.dbt_runner.project import project_dir

# The loader's tables the project reads (dbt sources).
SOURCE_TABLES = ("aviasales.request_logs", "aviasales.tickets")

# dbt statuses that make a run fail (warnings do not).
FAILING_STATUSES = frozenset({"error", "fail", "runtime error"})


@dataclass
class DbtOutcome:
    """What one dbt command did: counts per status, failures with dbt's message, duration."""

    command: str
    success: bool
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    elapsed_seconds: float = 0.0

    def reason(self) -> str:
        """One paragraph for the user (and Kubernetes' termination message) when it failed."""
        if self.error:
            return f"dbt {self.command} failed: {self.error}"
        shown = "; ".join(self.failures[:5])
        more = f" (and {len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        return f"dbt {self.command} failed: {shown}{more}"


@dataclass(frozen=True)
class DbtWorkspace:
    """Where a run keeps its profile, compiled SQL and logs (never inside the package)."""

    root: Path

    @property
    def profiles_dir(self) -> Path:
        return self.root

    @property
    def target_dir(self) -> Path:
        return self.root / "target"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"


def run_dbt(
    command: list[str],
    profile: Profile,
    workspace: DbtWorkspace,
    dbt_vars: dict[str, Any] | None = None,
    project: Path | None = None,
) -> DbtOutcome:
    """Invoke `dbt <command...>` on the TicketTrak project (or a copy of it) and the given profile."""
    from dbt.cli.main import dbtRunner

    profile.write(workspace.profiles_dir)
    os.environ[PASSWORD_ENV] = profile.password  # read by env_var() in profiles.yml
    os.environ.setdefault("DO_NOT_TRACK", "1")
    args = [
        *command,
        "--project-dir",
        str(project or project_dir()),
        "--profiles-dir",
        str(workspace.profiles_dir),
        "--target-path",
        str(workspace.target_dir),
        "--log-path",
        str(workspace.log_dir),
    ]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    result = dbtRunner().invoke(args)
    return summarize(" ".join(command[:2] if command[:1] == ["source"] else command[:1]), result)


def summarize(command: str, result: Any) -> DbtOutcome:
    """Reduce a `dbtRunnerResult` to counts and messages."""
    outcome = DbtOutcome(command=command, success=bool(result.success))
    if result.exception is not None:
        outcome.error = str(result.exception).strip() or type(result.exception).__name__
        outcome.success = False
        return outcome
    node_results = getattr(result.result, "results", None) or []
    counts: Counter[str] = Counter()
    for node_result in node_results:
        status = str(getattr(node_result.status, "value", node_result.status))
        counts[status] += 1
        node = getattr(node_result, "node", None)
        name = getattr(node, "unique_id", None) or "?"
        message = (getattr(node_result, "message", None) or "").strip()
        if status in FAILING_STATUSES:
            outcome.failures.append(f"{name}: {message or status}")
        elif status == "warn":
            outcome.warnings.append(f"{name}: {message or status}")
        outcome.elapsed_seconds += float(getattr(node_result, "execution_time", 0.0) or 0.0)
    outcome.counts = dict(counts)
    elapsed = getattr(result.result, "elapsed_time", None)
    if elapsed is not None:
        outcome.elapsed_seconds = float(elapsed)
    if outcome.failures:
        outcome.success = False
    return outcome


def missing_sources(dsn: str) -> list[str]:
    """The source tables that do not exist yet (a transform before the first load)."""
    import psycopg

    with psycopg.connect(dsn, connect_timeout=30) as conn:
        return [
            table
            for table in SOURCE_TABLES
            if conn.execute("select to_regclass(%s)", (table,)).fetchone() == (None,)
        ]
