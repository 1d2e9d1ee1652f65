"""Airflow's own pods (the official chart, helm/values/airflow.yaml) stay hardened: Pod Security
`restricted` fields on every pod and container, a read-only root filesystem, and a writable volume
for every path Airflow writes.

The chart cannot be rendered here (no Helm repository access), so the checks read our values with
the chart's own lookup rules, taken from its templates: each container's securityContext comes
from `<component>.securityContexts.container` (the wait-for-migrations init container from
`<component>.waitForMigrations.securityContexts.container`, the log groomer from
`<component>.logGroomerSidecar.securityContexts.container`), the pod's from
`<component>.securityContexts.pod`; `extraVolumes`/`extraVolumeMounts` are added to the pod and
to every Airflow container of that component.

Writable paths were found by running Airflow 3.3.2 (`db migrate`, `users create`, scheduler,
dag-processor, triggerer, api-server) as a non-root user with a read-only AIRFLOW_HOME and HOME:
only /opt/airflow/logs and /tmp were written, and only with the FAB auth manager (the default
SimpleAuthManager writes its password file into AIRFLOW_HOME).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs; a dev dependency via schemathesis
import pytest
import yaml

from tests.unit.k8s.conftest import REPO, TOOLS_BIN

AIRFLOW_VALUES = REPO / "helm" / "values" / "airflow.yaml"
AIRFLOW_LOGS = "/opt/airflow/logs"

# component -> the containers the chart builds for it, as paths to their securityContexts holder.
CONTAINERS: dict[str, list[tuple[str, ...]]] = {
    "scheduler": [(), ("waitForMigrations",), ("logGroomerSidecar",)],
    "dagProcessor": [(), ("waitForMigrations",), ("logGroomerSidecar",)],
    "triggerer": [(), ("waitForMigrations",), ("logGroomerSidecar",)],
    "apiServer": [(), ("waitForMigrations",)],
    "migrateDatabaseJob": [()],
    "createUserJob": [()],
}
# Components whose pod already has the chart's `logs` volume at /opt/airflow/logs (read in the
# scheduler, dag-processor and triggerer templates); the others need a scratch one.
CHART_LOGS_VOLUME = {"scheduler", "dagProcessor", "triggerer"}
# Volume names the chart itself uses in these pods: ours must not collide with them.
CHART_VOLUME_NAMES = {"config", "logs", "dags", "webserver-config", "api-server-config", "git-sync-ssh-key"}


def _values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(AIRFLOW_VALUES.read_text())
    return data


def _dig(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        assert isinstance(data, dict) and key in data, f"airflow.yaml: missing {'.'.join(keys)}"
        data = data[key]
    return data


def _all_containers() -> list[tuple[str, tuple[str, ...]]]:
    return [(component, path) for component, paths in CONTAINERS.items() for path in paths]


def _label(component: str, path: tuple[str, ...]) -> str:
    return ".".join((component, *path, "securityContexts", "container"))


@pytest.mark.parametrize(("component", "path"), _all_containers(), ids=lambda p: str(p))
def test_every_airflow_container_is_restricted_and_read_only(component: str, path: tuple[str, ...]) -> None:
    context = _dig(_values(), component, *path, "securityContexts", "container")
    label = _label(component, path)
    assert context.get("runAsNonRoot") is True, label
    assert context.get("allowPrivilegeEscalation") is False, label
    assert context.get("readOnlyRootFilesystem") is True, label
    assert context.get("capabilities", {}).get("drop") == ["ALL"], label
    assert not context.get("capabilities", {}).get("add"), label
    assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, label
    assert not context.get("privileged"), label
    assert context.get("runAsUser", 1) != 0, label


@pytest.mark.parametrize("component", list(CONTAINERS))
def test_every_airflow_pod_is_restricted(component: str) -> None:
    pod = _dig(_values(), component, "securityContexts", "pod")
    assert pod.get("runAsNonRoot") is True, component
    # The image's user; a pod context replaces the chart's default (runAsUser: uid), so it must say so.
    assert pod.get("runAsUser") == 50000, component
    assert pod.get("seccompProfile") == {"type": "RuntimeDefault"}, component


@pytest.mark.parametrize("component", list(CONTAINERS))
def test_what_airflow_writes_is_on_a_volume(component: str) -> None:
    values = _values()
    volumes = {v["name"]: v for v in _dig(values, component, "extraVolumes")}
    mounts = {m["mountPath"]: m["name"] for m in _dig(values, component, "extraVolumeMounts")}
    assert not set(volumes) & CHART_VOLUME_NAMES, f"{component}: a volume name the chart already uses"
    assert set(mounts.values()) <= set(volumes), f"{component}: a mount without a volume"
    writable = {"/tmp"} | (set() if component in CHART_LOGS_VOLUME else {AIRFLOW_LOGS})
    for path in writable:
        assert path in mounts, f"{component}: nothing writable at {path}"
        assert "emptyDir" in volumes[mounts[path]], f"{component}: {path} is not an emptyDir"
    if component in CHART_LOGS_VOLUME:
        # The chart mounts its `logs` volume there; a second mount at the same path is rejected.
        assert AIRFLOW_LOGS not in mounts, component


def test_the_auth_manager_needs_no_writable_airflow_home() -> None:
    """SimpleAuthManager (Airflow 3's default) writes a password file into AIRFLOW_HOME."""
    auth_manager = _dig(_values(), "config", "core", "auth_manager")
    assert auth_manager == "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def test_no_reliance_on_the_global_container_default() -> None:
    """The chart's helper reads `securityContexts.containers` while its schema says `container`:
    a global default would be silently ignored or half-applied, so everything is per component."""
    assert "securityContexts" not in _values()


def _kubernetes_definitions() -> dict[str, Any]:
    """Kubernetes' own strict JSON schemas (kubernetes-validate in .venv-tools, the version kind runs)."""
    found = sorted(
        (TOOLS_BIN.parent / "lib").glob(
            "python3*/site-packages/kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict/_definitions.json"
        )
    )
    if not found:
        pytest.fail(
            "kubernetes-validate's schemas are not in .venv-tools: run `make ci-tools` (or `make kube-tools`)"
        )
    definitions: dict[str, Any] = json.loads(Path(found[0]).read_text())["$defs"]
    return definitions


def _kubernetes_objects(values: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(where, object, Kubernetes kind) for every securityContext, volume and mount we set."""
    objects: list[tuple[str, Any, str]] = []
    for component, path in _all_containers():
        context = _dig(values, component, *path, "securityContexts", "container")
        objects.append((_label(component, path), context, "SecurityContext"))
    for component in CONTAINERS:
        pod = _dig(values, component, "securityContexts", "pod")
        objects.append((f"{component}.securityContexts.pod", pod, "PodSecurityContext"))
        objects += [
            (f"{component}.extraVolumes", v, "Volume") for v in _dig(values, component, "extraVolumes")
        ]
        mounts = _dig(values, component, "extraVolumeMounts")
        objects += [(f"{component}.extraVolumeMounts", m, "VolumeMount") for m in mounts]
    return objects


def test_security_contexts_and_volumes_are_valid_kubernetes_objects() -> None:
    """Every field name and value is one Kubernetes accepts (strict schema: a typo such as
    `readOnlyRootFileSystem` would otherwise be dropped and the container run writable)."""
    definitions = _kubernetes_definitions()

    def validator(kind: str) -> jsonschema.Draft202012Validator:
        schema = {"$defs": definitions, "$ref": f"#/$defs/io.k8s.api.core.v1.{kind}"}
        return jsonschema.Draft202012Validator(schema)

    errors: list[str] = []
    for where, obj, kind in _kubernetes_objects(_values()):
        errors += [f"{where}: {e.message}" for e in validator(kind).iter_errors(obj)]
    assert not errors, "\n".join(errors)
