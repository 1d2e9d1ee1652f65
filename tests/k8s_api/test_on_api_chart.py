"""The tickettrak chart against a real API server: install, `helm test`, RBAC in force."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import ControlPlane
from k8s_helpers import CHART_DIR, RELEASE_VALUES, helm
from rbac_checks import missing_launcher_permissions, service_account_token

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _core(plane: ControlPlane) -> Any:
    from kubernetes.client import CoreV1Api

    return CoreV1Api(plane.client())


def test_helm_install_creates_every_named_object(
    control_plane: ControlPlane, release: str, names: dict[str, Any]
) -> None:
    from kubernetes.client import AppsV1Api, NetworkingV1Api, RbacAuthorizationV1Api

    ns = names["namespace"]
    status = helm(control_plane, "status", release, "--namespace", ns, "-o", "yaml")
    assert status.returncode == 0, status.stderr
    assert yaml.safe_load(status.stdout)["info"]["status"] == "deployed"

    core = _core(control_plane)
    client = control_plane.client()
    accounts = {sa.metadata.name for sa in core.list_namespaced_service_account(ns).items}
    assert {names["serviceAccount"], names["airflowServiceAccount"]} <= accounts
    config_map = core.read_namespaced_config_map(names["configMap"], ns)
    assert all(key.startswith("TICKETTRAK_") for key in config_map.data)
    secret = core.read_namespaced_secret(names["secret"]["name"], ns)
    assert set(names["secret"]["keys"].values()) <= set(secret.data)
    proxy = AppsV1Api(client).read_namespaced_deployment(names["proxyService"], ns)
    assert proxy.spec.template.spec.containers[0].image.startswith(names["images"]["proxy"] + ":")
    assert core.read_namespaced_service(names["proxyService"], ns).spec.cluster_ip  # allocated by the API
    bindings = RbacAuthorizationV1Api(client).list_namespaced_role_binding(ns).items
    subjects = {(s.kind, s.name) for b in bindings for s in b.subjects or []}
    assert ("ServiceAccount", names["airflowServiceAccount"]) in subjects
    assert NetworkingV1Api(client).list_namespaced_network_policy(ns).items


def test_api_server_rejects_an_invalid_chart_variant(
    control_plane: ControlPlane, names: dict[str, Any], tmp_path: Path
) -> None:
    """Server-side validation is live: a name the API forbids fails `helm install`, not earlier."""
    chart = tmp_path / "tickettrak"
    shutil.copytree(CHART_DIR, chart)
    broken = dict(names, namespace="tickettrak-invalid", serviceAccount="Tickettrak_Stage")
    (chart / "names.yaml").write_text(yaml.safe_dump(broken))
    rendered = helm(
        control_plane, "template", "invalid", str(chart), "--namespace", "tickettrak-invalid", *RELEASE_VALUES
    )
    assert rendered.returncode == 0, f"the variant should render client-side:\n{rendered.stderr}"

    result = helm(
        control_plane,
        "install", "invalid", str(chart), "--namespace", "tickettrak-invalid", "--create-namespace",
        *RELEASE_VALUES,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Tickettrak_Stage" in result.stderr and "Invalid value" in result.stderr, result.stderr


def test_helm_test_pod_is_admitted_and_runs_to_success(
    control_plane: ControlPlane, release: str, names: dict[str, Any]
) -> None:
    # kwok, not a kubelet, runs the pod: this proves the test hook is admitted by the API server
    # (security context, service account) and that helm follows it to Succeeded and cleans it up;
    # the curl inside it never runs here.
    result = helm(control_plane, "test", release, "--namespace", names["namespace"], "--timeout", "2m")
    assert result.returncode == 0, f"helm test failed:\n{result.stdout}\n{result.stderr}"
    assert "TEST SUITE:     tickettrak-test-proxy" in result.stdout, result.stdout
    assert "Phase:          Succeeded" in result.stdout, result.stdout
    # hook-delete-policy hook-succeeded: helm deletes the pod; kwok finalizes the deletion.
    core = _core(control_plane)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(names["namespace"], label_selector="tickettrak.io/role=test").items
        if not pods:
            break
        time.sleep(0.5)
    assert not pods, [p.metadata.name for p in pods]


def test_launcher_account_has_what_the_pod_operator_needs(
    control_plane: ControlPlane, release: str, names: dict[str, Any]
) -> None:
    missing = missing_launcher_permissions(control_plane, names["namespace"], names["airflowServiceAccount"])
    assert missing == []


def _stage_pod(names: dict[str, Any], name: str) -> Any:
    from kubernetes.client import (
        V1Capabilities,
        V1Container,
        V1ObjectMeta,
        V1Pod,
        V1PodSecurityContext,
        V1PodSpec,
        V1SeccompProfile,
        V1SecurityContext,
    )

    return V1Pod(
        metadata=V1ObjectMeta(name=name, labels=dict(names["podLabels"]["stage"])),
        spec=V1PodSpec(
            service_account_name=names["serviceAccount"],
            restart_policy="Never",
            # the namespace enforces PodSecurity `restricted`: without these, admission refuses it
            security_context=V1PodSecurityContext(
                run_as_non_root=True, seccomp_profile=V1SeccompProfile(type="RuntimeDefault")
            ),
            containers=[
                V1Container(
                    name="base",
                    image=f"{names['images']['loader']}:0.1.0",
                    security_context=V1SecurityContext(
                        allow_privilege_escalation=False, capabilities=V1Capabilities(drop=["ALL"])
                    ),
                )
            ],
        ),
    )


def test_only_the_launcher_account_may_create_pods(
    control_plane: ControlPlane, release: str, names: dict[str, Any]
) -> None:
    from kubernetes.client import CoreV1Api
    from kubernetes.client.exceptions import ApiException

    ns = names["namespace"]
    launcher_token = service_account_token(control_plane, ns, names["airflowServiceAccount"])
    launcher = CoreV1Api(control_plane.client_for_token(launcher_token))
    created = launcher.create_namespaced_pod(ns, _stage_pod(names, "rbac-probe-allowed"))
    assert created.metadata.uid
    launcher.delete_namespaced_pod("rbac-probe-allowed", ns)

    # The stage pods' own account (and any other) may not launch pods.
    stage = CoreV1Api(
        control_plane.client_for_token(service_account_token(control_plane, ns, names["serviceAccount"]))
    )
    with pytest.raises(ApiException) as denied:
        stage.create_namespaced_pod(ns, _stage_pod(names, "rbac-probe-denied"))
    assert denied.value.status == 403
    assert f"system:serviceaccount:{ns}:{names['serviceAccount']}" in str(denied.value.body)
    # ... and not in another namespace either, launcher included.
    with pytest.raises(ApiException) as elsewhere:
        launcher.create_namespaced_pod("default", _stage_pod(names, "rbac-probe-elsewhere"))
    assert elsewhere.value.status == 403


def test_a_chart_whose_role_lacks_delete_is_caught(
    control_plane: ControlPlane, names: dict[str, Any], tmp_path: Path
) -> None:
    """The broken variant: the launcher Role without `delete` (the operator could never clean up)."""
    chart = tmp_path / "tickettrak"
    shutil.copytree(CHART_DIR, chart)
    ns = "tickettrak-broken-rbac"
    (chart / "names.yaml").write_text(yaml.safe_dump(dict(names, namespace=ns)))
    rbac = chart / "templates" / "rbac.yaml"
    text = rbac.read_text()
    assert '"delete", ' in text
    rbac.write_text(text.replace('"delete", ', "", 1))

    result = helm(
        control_plane, "install", "broken-rbac", str(chart), "--namespace", ns, "--create-namespace",
        *RELEASE_VALUES,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert missing_launcher_permissions(control_plane, ns, names["airflowServiceAccount"]) == ["delete pods"]
