"""Every rendered object against the Kubernetes schemas of the kind-pinned version, and the
security scan (checkov, offline) of the rendered manifests and every Dockerfile.

The accepted findings are annotated on the objects themselves (`checkov.io/skipN: ID=reason`);
this file lists them once more so adding one is a visible, reviewed change.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.k8s.conftest import REPO, Rendered, kind_kubernetes_version, make_variable, tool
from tests.unit.k8s.test_images import DOCKERFILES

# (check id, resource) -> why it is accepted. Anything else checkov reports fails the test.
ACCEPTED: dict[tuple[str, str], str] = {
    (
        "CKV_K8S_43",
        "Deployment.tickettrak.tickettrak-proxy",
    ): "images are kind-loaded by git-SHA tag; no registry digest before the build",
    ("CKV_K8S_43", "Deployment.tickettrak.tickettrak-sandbox"): "same as the proxy",
    (
        "CKV_K8S_43",
        "Pod.tickettrak.tickettrak-test-proxy",
    ): "a pinned upstream tag; a digest can be set in values test.image",
    (
        "CKV_K8S_15",
        "Deployment.tickettrak.tickettrak-proxy",
    ): "imagePullPolicy Always would try a registry that kind-loaded images are not in",
    ("CKV_K8S_15", "Deployment.tickettrak.tickettrak-sandbox"): "same as the proxy",
    (
        "CKV_K8S_15",
        "Pod.tickettrak.tickettrak-test-proxy",
    ): "IfNotPresent with a pinned tag works without registry access",
    (
        "CKV_K8S_35",
        "Deployment.tickettrak.tickettrak-proxy",
    ): "settings are env vars by design (pydantic-settings, SecretStr, redacted logs), from a secretKeyRef",
    (
        "CKV_K8S_8",
        "Pod.tickettrak.tickettrak-test-proxy",
    ): "a run-to-completion test pod has nothing to liveness-probe",
    ("CKV_K8S_9", "Pod.tickettrak.tickettrak-test-proxy"): "a run-to-completion test pod receives no traffic",
}


def _validate(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("kubernetes-validate"),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            kind_kubernetes_version(),
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_kind_and_the_makefile_pin_the_same_kubernetes(rendered: dict[str, Rendered]) -> None:
    assert kind_kubernetes_version() == make_variable("K8S_VERSION")


def test_every_rendered_object_is_schema_valid(rendered: dict[str, Rendered]) -> None:
    done = _validate([r.path for r in rendered.values()])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ERROR" not in done.stdout


def test_a_misspelled_field_fails_validation(rendered: dict[str, Rendered], tmp_path: Path) -> None:
    # The same check must be able to fail: an unknown field under strict validation.
    broken = tmp_path / "broken.yaml"
    broken.write_text(rendered["default"].path.read_text().replace("readinessProbe:", "readynessProbe:", 1))
    done = _validate([broken])
    assert done.returncode != 0
    assert "readynessProbe" in done.stdout + done.stderr


def _checkov(paths: list[Path], frameworks: list[str]) -> dict[str, Any]:
    args = [
        tool("checkov"),
        "--skip-download",
        "--compact",
        "--output",
        "json",
        "--framework",
        *frameworks,
    ]
    for path in paths:
        args += ["--file", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    report = json.loads(done.stdout)
    return {"results": report} if isinstance(report, list) else {"results": [report]}


@pytest.fixture(scope="session")
def checkov_reports(rendered: dict[str, Rendered]) -> list[dict[str, Any]]:
    """One checkov run (it takes ~20 s) over every profile's manifests and every Dockerfile."""
    paths = [r.path for r in rendered.values()] + [REPO / d for d in DOCKERFILES]
    return _checkov(paths, ["kubernetes", "dockerfile"])["results"]


def _results(reports: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return [check for report in reports for check in report.get("results", {}).get(key, [])]


def test_security_scan_finds_nothing_but_the_accepted(checkov_reports: list[dict[str, Any]]) -> None:
    failed = {
        (c["check_id"], c["resource"], c["file_path"]) for c in _results(checkov_reports, "failed_checks")
    }
    assert not failed, "new security findings (fix them, or accept each with a reason here and on the object)"
    skipped = {(c["check_id"], c["resource"]) for c in _results(checkov_reports, "skipped_checks")}
    assert skipped == set(ACCEPTED), f"accepted findings differ: {skipped ^ set(ACCEPTED)}"
    for check in _results(checkov_reports, "skipped_checks"):
        assert len(check["check_result"].get("suppress_comment", "")) > 20, (
            f"{check['check_id']}: give a reason"
        )
    passed = {c["check_id"] for c in _results(checkov_reports, "passed_checks")}
    # The checks that matter most ran and passed: no privileged pods, no root, resources, no
    # secrets in env literals, read-only root filesystem, non-root USER in every Dockerfile.
    assert {
        "CKV_K8S_16",
        "CKV_K8S_20",
        "CKV_K8S_23",
        "CKV_K8S_40",
        "CKV_K8S_22",
        "CKV_K8S_10",
        "CKV_K8S_11",
        "CKV_K8S_12",
        "CKV_K8S_13",
        "CKV_K8S_28",
        "CKV_DOCKER_3",
        "CKV_DOCKER_8",
    } <= passed


def test_security_scan_catches_a_privileged_root_pod(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: tickettrak}\n"
        "spec:\n  containers:\n    - name: c\n      image: busybox:1.36\n"
        "      securityContext: {privileged: true, runAsUser: 0}\n"
        "      env: [{name: TICKETTRAK_AVIASALES_TOKEN, value: hunter2hunter2}]\n"
    )
    [report] = _checkov([bad], ["kubernetes"])["results"]
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert {"CKV_K8S_16", "CKV_K8S_40", "CKV_K8S_10"} <= failed
