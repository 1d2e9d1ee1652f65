"""`tickettrak transform` refuses a `--var` dbt would silently ignore, before touching a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
PROJECT = Path(__file__).resolve().parents[3] / "jobs/dbt_runner/dbt/dbt_project.yml"


def _transform(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"TICKETTRAK_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [TICKETTRAK, "transform", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_an_unknown_var_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    done = _transform(tmp_path, "--var", "min_observation_dayz=7")
    assert done.returncode == 2, done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "unknown dbt var 'min_observation_dayz'" in last
    for name in yaml.safe_load(PROJECT.read_text())["vars"]:
        assert name in last
    assert not (tmp_path / "home" / "postgres").exists()  # refused before any database was opened


def test_a_var_without_a_value_is_refused(tmp_path: Path) -> None:
    done = _transform(tmp_path, "--var", "min_observation_days")
    assert done.returncode == 2
    assert "--var takes NAME=VALUE" in done.stderr.strip().splitlines()[-1]
