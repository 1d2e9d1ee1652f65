"""Fixtures for the Kubernetes checks: the real tools (helm built from source, kubernetes-validate,
hadolint, checkov) and the chart rendered once per values profile.

Tools come from `make ci-tools`: helm in $(go env GOPATH)/bin (or $HELM), the rest in .venv-tools.
Without Go, the helm-based tests skip and say why; a missing tool otherwise fails with the command
that installs it, so a forgotten setup step never passes as green.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "helm" / "tickettrak"
PROFILES_DIR = Path(__file__).resolve().parent / "profiles"
PROFILES = sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))
TOOLS_BIN = REPO / ".venv-tools" / "bin"


def load_names() -> dict[str, Any]:
    names: dict[str, Any] = yaml.safe_load((CHART / "names.yaml").read_text())
    return names


def make_variable(name: str) -> str:
    """A `NAME := value` from mk/k8s.mk (the pins live there, once)."""
    match = re.search(rf"^{name}\s*[:?]?=\s*(.+?)\s*$", (REPO / "mk" / "k8s.mk").read_text(), re.M)
    assert match, f"{name} is not set in mk/k8s.mk"
    return match.group(1)


def kind_kubernetes_version() -> str:
    """The Kubernetes version kind-config.yaml pins (its node image tag)."""
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    image = config["nodes"][0]["image"]
    match = re.fullmatch(r"kindest/node:v(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}", image)
    assert match, f"kind-config.yaml: node image {image!r} is not pinned as kindest/node:vX.Y.Z@sha256:..."
    return match.group(1)


def _go_bin() -> Path | None:
    go = shutil.which("go")
    if go is None:
        return None
    gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True, check=True).stdout.strip()
    return Path(gopath) / "bin"


@pytest.fixture(scope="session")
def helm() -> str:
    explicit = os.environ.get("HELM")
    if explicit:
        return explicit
    go_bin = _go_bin()
    if go_bin is None:
        pytest.skip("Go is not installed, so helm cannot be built from source (make helm-tool)")
    path = go_bin / "helm"
    if not path.is_file():
        pytest.fail(f"helm not found at {path}: run `make ci-tools` (or `make helm-tool`)")
    version = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True).stdout.strip()
    pinned = make_variable("HELM_VERSION")
    assert version.startswith(pinned), f"{path} is {version}, mk/k8s.mk pins {pinned}: run `make helm-tool`"
    return str(path)


def tool(name: str) -> str:
    path = TOOLS_BIN / name
    if not path.is_file():
        pytest.fail(f"{name} not found in .venv-tools: run `make ci-tools` (or `make kube-tools`)")
    return str(path)


@dataclass(frozen=True)
class Rendered:
    profile: str
    path: Path  # the manifests as helm wrote them
    objects: list[dict[str, Any]]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        for obj in self.objects:
            if obj["kind"] == kind and obj["metadata"]["name"] == name:
                return obj
        raise AssertionError(f"{self.profile}: no {kind}/{name} in the rendered chart")

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def has(self, kind: str, name: str) -> bool:
        return any(o["kind"] == kind and o["metadata"]["name"] == name for o in self.objects)


def helm_template(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            helm,
            "template",
            "tickettrak",
            str(CHART),
            "--namespace",
            load_names()["namespace"],
            "--kube-version",
            kind_kubernetes_version(),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="session")
def rendered(helm: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Every values profile rendered once (helm template, the kind-pinned Kubernetes version)."""
    out_dir = tmp_path_factory.mktemp("rendered")
    result: dict[str, Rendered] = {}
    for profile in PROFILES:
        done = helm_template(helm, "--values", str(PROFILES_DIR / f"{profile}.yaml"))
        assert done.returncode == 0, f"helm template ({profile}) failed:\n{done.stderr}"
        path = out_dir / f"{profile}.yaml"
        path.write_text(done.stdout)
        objects = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
        result[profile] = Rendered(profile, path, objects)
    return result


@pytest.fixture(params=PROFILES)
def each_profile(request: pytest.FixtureRequest, rendered: dict[str, Rendered]) -> Iterator[Rendered]:
    yield rendered[request.param]
