"""Pod Security Admission: the release namespace enforces `restricted`, the DAG's pods pass it.

The namespace is labelled `pod-security.kubernetes.io/enforce: restricted` (conftest `release`);
the API server's PodSecurity admission plugin then refuses any pod that breaks the profile. Each
stage pod the DAG builds (the operator's own pod, snapshot-tested in tests/unit/dags/snapshots)
is created server-side with dry-run (full admission, nothing stored): admitted. Variants that
each break one rule are refused with PodSecurity's reason, and the same variants are admitted in
a namespace without the label, so the refusal is the label's doing. The real stage tasks
(test_on_api_dag.py) create their pods in the same namespace, so they pass it too.

`restricted` does not require readOnlyRootFilesystem; the stage pods set it anyway (issue #10),
which tests/unit/dags and tests/reliability/test_secrets_and_hardening.py check.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness import REPO_ROOT, ControlPlane
from k8s_helpers import CHART_DIR, POD_SECURITY_LABELS, RELEASE_VALUES, helm

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SNAPSHOTS = REPO_ROOT / "tests" / "unit" / "dags" / "snapshots"
VIOLATION = 'violates PodSecurity "restricted:latest"'


def _stage_pod(path: Path) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(path.read_text())
    # the snapshot's placeholders (random suffix, Airflow version) are not valid names/labels
    pod["metadata"]["name"] = pod["metadata"]["name"].replace("<random>", "psa-probe")
    pod["metadata"]["labels"]["airflow_version"] = "snapshot"
    return pod


STAGE_PODS = sorted(SNAPSHOTS.glob("*.yaml"))


def _create_dry_run(plane: ControlPlane, namespace: str, pod: dict[str, Any]) -> Any:
    from kubernetes.client import CoreV1Api

    return CoreV1Api(plane.client()).create_namespaced_pod(namespace, pod, dry_run="All")


def test_the_namespace_enforces_restricted(
    control_plane: ControlPlane, release: str, names: dict[str, Any]
) -> None:
    from kubernetes.client import CoreV1Api

    labels = CoreV1Api(control_plane.client()).read_namespace(names["namespace"]).metadata.labels
    assert POD_SECURITY_LABELS.items() <= labels.items(), labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_every_stage_pod_snapshot_is_found() -> None:
    # Apart from the parametrized test: an empty list would make pytest skip it, not fail.
    assert len(STAGE_PODS) == 5, STAGE_PODS  # collect, load, transform, report, source_freshness


@pytest.mark.parametrize("snapshot", STAGE_PODS, ids=[p.stem for p in STAGE_PODS])
def test_stage_pods_are_admitted(
    control_plane: ControlPlane, release: str, names: dict[str, Any], snapshot: Path
) -> None:
    created = _create_dry_run(control_plane, names["namespace"], _stage_pod(snapshot))
    assert created.spec.security_context.run_as_non_root is True
    assert created.spec.containers[0].security_context.read_only_root_filesystem is True


def _drop_run_as_non_root(pod: dict[str, Any]) -> None:
    del pod["spec"]["securityContext"]["runAsNonRoot"]


def _allow_privilege_escalation(pod: dict[str, Any]) -> None:
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True


def _keep_capabilities(pod: dict[str, Any]) -> None:
    del pod["spec"]["containers"][0]["securityContext"]["capabilities"]


def _no_seccomp_profile(pod: dict[str, Any]) -> None:
    del pod["spec"]["securityContext"]["seccompProfile"]


def _host_path_scratch(pod: dict[str, Any]) -> None:
    pod["spec"]["volumes"][0] = {"name": "scratch", "hostPath": {"path": "/var/tmp"}}


# variant -> (how it breaks the pod, what PodSecurity's refusal names)
BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "no-runAsNonRoot": (_drop_run_as_non_root, "runAsNonRoot != true"),
    "privilege-escalation": (_allow_privilege_escalation, "allowPrivilegeEscalation != false"),
    "capabilities-kept": (_keep_capabilities, "unrestricted capabilities"),
    "no-seccomp": (_no_seccomp_profile, "seccompProfile"),
    "hostPath-scratch": (_host_path_scratch, 'restricted volume type "hostPath"'),
}


@pytest.mark.parametrize("variant", sorted(BROKEN))
def test_a_non_compliant_stage_pod_is_rejected(
    control_plane: ControlPlane, release: str, names: dict[str, Any], variant: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    breaks, reason = BROKEN[variant]
    pod = _stage_pod(SNAPSHOTS / "tickettrak_pipeline.load.yaml")
    breaks(pod)
    with pytest.raises(ApiException) as refused:
        _create_dry_run(control_plane, names["namespace"], pod)
    assert refused.value.status == 403, refused.value.body
    message = json.loads(refused.value.body)["message"]
    assert VIOLATION in message and reason in message, message

    # The control: the same pod in a namespace without the label is admitted (dry-run), so the
    # refusal above is PodSecurity's, not a validation error. `default` has no stage account.
    elsewhere = copy.deepcopy(pod)
    elsewhere["metadata"].pop("namespace", None)
    elsewhere["spec"]["serviceAccountName"] = "default"
    assert _create_dry_run(control_plane, "default", elsewhere).metadata.name == pod["metadata"]["name"]


def test_a_chart_whose_pods_break_restricted_is_caught(
    control_plane: ControlPlane, names: dict[str, Any], tmp_path: Path
) -> None:
    """The chart's broken variant: its containers may escalate privileges. helm installs
    the Deployment (workloads are only warned about), the API server's warning names the rule, and
    the chart's test pod is refused at admission."""
    from kubernetes.client import CoreV1Api, V1Namespace, V1ObjectMeta

    chart = tmp_path / "tickettrak"
    shutil.copytree(CHART_DIR, chart)
    ns = "tickettrak-broken-psa"
    (chart / "names.yaml").write_text(yaml.safe_dump(dict(names, namespace=ns)))
    helpers = chart / "templates" / "_helpers.tpl"
    text = helpers.read_text()
    assert text.count("allowPrivilegeEscalation: false") == 1
    helpers.write_text(text.replace("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"))
    CoreV1Api(control_plane.client()).create_namespace(
        V1Namespace(metadata=V1ObjectMeta(name=ns, labels=POD_SECURITY_LABELS))
    )
    installed = helm(control_plane, "install", "broken-psa", str(chart), "--namespace", ns, *RELEASE_VALUES)
    assert installed.returncode == 0, installed.stderr
    # (helm logs the warning with its quotes escaped)
    assert "would violate PodSecurity" in installed.stderr, installed.stderr
    assert "allowPrivilegeEscalation != false" in installed.stderr, installed.stderr
    tested = helm(control_plane, "test", "broken-psa", "--namespace", ns, "--timeout", "1m")
    assert tested.returncode != 0
    assert "violates PodSecurity" in tested.stderr, tested.stderr
