"""The DAG's stage pods and the chart agree: every namespace, ServiceAccount, ConfigMap, Secret
and key a pod references exists in the rendered chart; every image is one the Makefile builds,
with the entry point and subcommand the pod runs; the NetworkPolicies admit the pods.

The pods are the DAG suite's snapshots (tests/unit/dags/snapshots): that suite builds them with
the operator's own `build_pod_request_obj` in .venv-airflow and fails when a snapshot drifts, so
they are what Airflow would send to the cluster, readable here without Airflow installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.k8s.conftest import REPO, Rendered, load_names
from tests.unit.k8s.test_images import STAGE_IMAGES, _makefile_images

NAMES = load_names()
SNAPSHOTS = REPO / "tests" / "unit" / "dags" / "snapshots"
POD_FILES = sorted(SNAPSHOTS.glob("*.yaml"))


def test_the_dag_suite_builds_its_pods_with_the_operator() -> None:
    assert POD_FILES, f"no pod snapshots in {SNAPSHOTS}: the DAG suite writes them"
    suite = (REPO / "tests" / "unit" / "dags" / "test_dag_pod_specs.py").read_text()
    helpers = (REPO / "tests" / "unit" / "dags" / "airflow_dag_helpers.py").read_text()
    assert "build_pod_request_obj" in helpers and "snapshot" in suite


def _pod(path: Path) -> dict[str, Any]:
    pod: dict[str, Any] = yaml.safe_load(path.read_text())
    assert pod["kind"] == "Pod"
    return pod


@pytest.fixture(params=POD_FILES, ids=[p.stem for p in POD_FILES])
def pod(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _pod(request.param)


def _container(pod: dict[str, Any]) -> dict[str, Any]:
    [container] = pod["spec"]["containers"]
    return container


def test_pod_references_exist_in_the_chart(pod: dict[str, Any], rendered: dict[str, Rendered]) -> None:
    chart = rendered["default"]
    assert pod["metadata"]["namespace"] == NAMES["namespace"]
    assert {o["metadata"]["namespace"] for o in chart.objects} == {pod["metadata"]["namespace"]}
    chart.get("ServiceAccount", pod["spec"]["serviceAccountName"])
    container = _container(pod)
    for source in container.get("envFrom", []):
        chart.get("ConfigMap", source["configMapRef"]["name"])
    refs = [env["valueFrom"]["secretKeyRef"] for env in container.get("env", []) if "valueFrom" in env]
    assert refs, "a stage pod without its Secret cannot reach anything"
    for ref in refs:
        secret = chart.get("Secret", ref["name"])
        assert ref["key"] in secret["stringData"], f"{ref['name']} has no key {ref['key']}"
    # With existingSecret (what `make deploy` uses) the proxy reads the same Secret name.
    existing = rendered["existing-secret"]
    proxy_refs = {
        env["valueFrom"]["secretKeyRef"]["name"]
        for env in existing.get("Deployment", NAMES["proxyService"])["spec"]["template"]["spec"][
            "containers"
        ][0]["env"]
        if "valueFrom" in env
    }
    assert proxy_refs == {ref["name"] for ref in refs}


def test_pod_settings_come_from_the_shared_configmap(
    pod: dict[str, Any], rendered: dict[str, Rendered]
) -> None:
    config = rendered["default"].get("ConfigMap", NAMES["configMap"])["data"]
    literals = {env["name"] for env in _container(pod).get("env", []) if "value" in env}
    # A pod never overrides a shared setting with a literal, and never carries a secret as one.
    assert not literals & set(config), literals & set(config)
    assert not literals & {"TICKETTRAK_AVIASALES_TOKEN", "TICKETTRAK_POSTGRES_DSN", "TICKETTRAK_MONGO_URI"}


def test_pod_image_is_built_by_the_makefile_with_its_command(pod: dict[str, Any]) -> None:
    container = _container(pod)
    repository, tag = container["image"].rsplit(":", 1)
    assert tag != "latest"
    built = {repo: dockerfile for repo, dockerfile in _makefile_images().values()}
    assert repository in built, f"{repository} is not an image `make images` builds"
    dockerfile = (REPO / built[repository]).read_text()
    assert container["command"] == ["tickettrak"] and 'ENTRYPOINT ["tickettrak"]' in dockerfile
    image_id = next(i for i, repo in NAMES["images"].items() if repo == repository)
    _, member_dir, _ = STAGE_IMAGES[image_id]
    commands = re.search(
        r'\[project\.entry-points\."tickettrak\.commands"\]\n((?:\w+ = .+\n)+)',
        (REPO / member_dir / "pyproject.toml").read_text(),
    )
    assert commands and container["args"][0] in re.findall(r"^(\w+) =", commands.group(1), re.M), (
        f"{repository} does not install `tickettrak {container['args'][0]}`"
    )
    user = re.findall(r"^USER (\d+)", dockerfile, re.M)
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True and user and int(user[-1]) > 0


def _admits(peer: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = peer.get("podSelector", {}).get("matchLabels")
    return selector is not None and "namespaceSelector" not in peer and selector.items() <= labels.items()


def test_network_policies_admit_the_stage_pods(pod: dict[str, Any], rendered: dict[str, Rendered]) -> None:
    labels = pod["metadata"]["labels"]
    assert NAMES["podLabels"]["stage"].items() <= labels.items()
    chart = rendered["default"]
    stages = chart.get("NetworkPolicy", "tickettrak-stages")["spec"]
    assert stages["podSelector"]["matchLabels"].items() <= labels.items(), (
        "the stage egress policy misses the pod"
    )
    for database in ("tickettrak-postgres", "tickettrak-mongodb"):
        ingress = chart.get("NetworkPolicy", database)["spec"]["ingress"]
        assert any(_admits(peer, labels) for rule in ingress for peer in rule["from"]), database
    proxy_ingress = chart.get("NetworkPolicy", "tickettrak-proxy")["spec"]["ingress"]
    assert any(_admits(peer, labels) for rule in proxy_ingress for peer in rule["from"])
    # ...and the proxy's own pods are not mistaken for stages (they must not reach PostgreSQL).
    proxy_labels = chart.get("Deployment", NAMES["proxyService"])["spec"]["template"]["metadata"]["labels"]
    assert not stages["podSelector"]["matchLabels"].items() <= proxy_labels.items()


def test_pod_resources_are_bounded(pod: dict[str, Any]) -> None:
    resources = _container(pod)["resources"]
    assert resources["requests"]["memory"] and resources["limits"]["memory"] and resources["limits"]["cpu"]
    assert pod["spec"]["restartPolicy"] == "Never"


def test_make_trigger_runs_the_dag_the_pods_come_from() -> None:
    import subprocess

    dag_ids = {_pod(path)["metadata"]["labels"]["dag_id"] for path in POD_FILES}
    dry = subprocess.run(["make", "-n", "trigger"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert dry.returncode == 0, dry.stderr
    [triggered] = re.findall(r"airflow dags trigger (\S+)", dry.stdout)
    assert triggered in dag_ids, f"make trigger runs {triggered}, the DAGs are {dag_ids}"
