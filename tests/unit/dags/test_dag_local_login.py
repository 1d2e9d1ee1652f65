"""`make airflow` prints a login that Airflow's simple auth manager actually uses."""

from __future__ import annotations

import importlib.util
import stat
from pathlib import Path
from types import ModuleType

from airflow_dag_helpers import DAGS_DIR


def _launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "with_local_services", DAGS_DIR / "tools" / "with_local_services.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_password_is_created_once_private_and_read_by_airflow(tmp_path: Path) -> None:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    launcher = _launcher()
    password = launcher.admin_password(tmp_path)
    assert len(password) >= 12
    assert launcher.admin_password(tmp_path) == password  # kept across restarts

    path = tmp_path / launcher.PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The file name is the one Airflow looks for under AIRFLOW_HOME, in the format it parses.
    assert Path(SimpleAuthManager.get_generated_password_file()).name == launcher.PASSWORD_FILE
    with path.open("r+") as stream:
        assert SimpleAuthManager._get_passwords(stream) == {"admin": password}
