"""The cluster path's make targets and deploy scripts, run for real against a recording fake
kubectl and helm (tests/unit/k8s/fake_cluster.py): what they would send to the cluster, in order."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.k8s.conftest import CHART, kind_kubernetes_version, load_names
from tests.unit.k8s.fake_cluster import FakeCluster, helm_upgrade

NAMES = load_names()
ALL_DIGIT_SHA = "123456789012"  # a git short SHA of digits only: YAML reads it as a number


@pytest.fixture
def cluster(tmp_path: Path) -> FakeCluster:
    return FakeCluster(tmp_path)


def _as_template(upgrade: list[str]) -> list[str]:
    """`helm upgrade --install <release> <chart> <flags>` as `helm template` of our chart."""
    release, _chart, *flags = upgrade[2:]
    kept: list[str] = []
    skip = False
    for flag in flags:
        if skip:
            skip = False
        elif flag == "--timeout":
            skip = True
        elif flag != "--wait":
            kept.append(flag)
    return ["template", release, str(CHART), "--kube-version", kind_kubernetes_version(), *kept]


def test_an_all_digit_image_tag_deploys_as_a_string(cluster: FakeCluster, helm: str) -> None:
    done = cluster.make("deploy", TAG=ALL_DIGIT_SHA)
    assert done.returncode == 0, done.stderr
    upgrade = helm_upgrade(cluster.calls("helm"), "tickettrak")
    rendered = subprocess.run([helm, *_as_template(upgrade)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr  # `--set image.tag=1234…` fails the schema
    proxy = next(
        d
        for d in yaml.safe_load_all(rendered.stdout)
        if d and d["kind"] == "Deployment" and d["metadata"]["name"] == NAMES["proxyService"]
    )
    assert proxy["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{ALL_DIGIT_SHA}")
    # The Airflow chart is not rendered here (no Helm repository access): its tag goes the same way.
    airflow = helm_upgrade(cluster.calls("helm"), "airflow")
    assert f"images.airflow.tag={ALL_DIGIT_SHA}" == airflow[airflow.index("--set-string") + 1]
    assert not any(
        a.startswith(("image.tag=", "images.airflow.tag=")) for a in _after("--set", upgrade + airflow)
    )


def _after(flag: str, argv: list[str]) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]
