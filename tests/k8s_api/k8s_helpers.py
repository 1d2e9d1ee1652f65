"""Shared by the k8s API tests: where the chart is, its release values, and helm against the harness."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from harness import REPO_ROOT, ControlPlane

NAMES_FILE = REPO_ROOT / "helm" / "tickettrak" / "names.yaml"
CHART_DIR = REPO_ROOT / "helm" / "tickettrak"


def helm_binary() -> str:
    explicit = os.environ.get("TICKETTRAK_HELM")
    if explicit:
        return explicit
    found = shutil.which("helm")
    if found:
        return found
    return str(Path.home() / "go" / "bin" / "helm")


# Pod Security Admission on the release namespace (the API server's PodSecurity admission plugin,
# on by default): pods that break the `restricted` profile are rejected; `warn` also makes the API
# server answer workload templates that would break it (the proxy Deployment) with a warning.
POD_SECURITY_LABELS = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}

# The chart's `secrets` for the release: placeholders (nothing connects to them here).
RELEASE_VALUES = [
    "--set", "secrets.postgresDsn=postgresql://tickettrak:not-a-secret@pg.invalid:5432/tickettrak",
    "--set", "secrets.mongoUri=mongodb://tickettrak:not-a-secret@mongo.invalid:27017/tickettrak",
    "--set", "secrets.aviasalesToken=",
]  # fmt: skip


def helm(plane: ControlPlane, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {**plane.env(), "HELM_CACHE_HOME": str(plane.workdir / "helm-cache"),
           "HELM_CONFIG_HOME": str(plane.workdir / "helm-config"),
           "HELM_DATA_HOME": str(plane.workdir / "helm-data")}  # fmt: skip
    return subprocess.run(
        [helm_binary(), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
