"""Fixtures for the tests against a real Kubernetes API (`make test-k8s`).

They run in .venv-airflow (it has Airflow, the Kubernetes client and cryptography) with the
binaries `make k8s-harness-tools` builds; in .venv (`make test`) nothing here is collected.
Airflow reads AIRFLOW_HOME on first import, so it is set here, before any test module.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

IN_AIRFLOW_ENV = importlib.util.find_spec("airflow") is not None

if IN_AIRFLOW_ENV:
    _home = tempfile.mkdtemp(prefix="tt-k8s-airflow-home-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)
    os.environ.update({"AIRFLOW_HOME": _home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    from harness import ControlPlane
    from k8s_helpers import CHART_DIR, NAMES_FILE, POD_SECURITY_LABELS, RELEASE_VALUES, helm
else:
    collect_ignore_glob = ["test_on_*.py"]


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    plane = ControlPlane(workdir=tmp_path_factory.mktemp("k8s"))
    plane.start()
    yield plane
    plane.stop()
    leftovers = plane.leftover_processes()
    assert not leftovers, f"control plane teardown left processes behind: {leftovers}"


@pytest.fixture(scope="session")
def names() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load(NAMES_FILE.read_text())
    return data


@pytest.fixture(scope="session")
def release(control_plane: ControlPlane, names: dict[str, Any]) -> str:
    """The chart installed as release `tickettrak` in names.yaml's namespace, which enforces the
    Pod Security Standard `restricted` (as `make deploy` labels it): every pod the chart's tests or
    the DAG create there passes the API server's PodSecurity admission, or is rejected."""
    from kubernetes.client import CoreV1Api, V1Namespace, V1ObjectMeta

    CoreV1Api(control_plane.client()).create_namespace(
        V1Namespace(metadata=V1ObjectMeta(name=names["namespace"], labels=POD_SECURITY_LABELS))
    )
    result = helm(
        control_plane,
        "install", "tickettrak", str(CHART_DIR),
        "--namespace", names["namespace"],
        *RELEASE_VALUES,
        "--wait=false", "--timeout", "2m",
    )  # fmt: skip
    assert result.returncode == 0, f"helm install failed:\n{result.stdout}\n{result.stderr}"
    # warn=restricted: a Deployment/pod template of the chart that breaks the profile is answered
    # with a warning, which helm prints (`would violate PodSecurity "restricted:latest"`).
    assert "PodSecurity" not in result.stderr, result.stderr
    return "tickettrak"
