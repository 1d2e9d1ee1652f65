"""Kubernetes mode without a cluster: the pod every task would create, checked and snapshot-tested.

`build_pod_request_obj(dry_run=True)` is the operator's own pod construction; the manifest is
what it would send to the API server. Expectations come from names.yaml read here independently,
so a drift between the chart's names and the DAG's pods fails. Snapshots live in `snapshots/`;
after a deliberate change, regenerate them with TICKETTRAK_TEST_UPDATE_SNAPSHOTS=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from airflow_dag_helpers import NAMES_FILE, SNAPSHOTS, clear_tickettrak_env, parse_dags, pod_manifest

TAG = "0a1b2c3"
SECRET_VALUES = {
    "TICKETTRAK_AVIASALES_TOKEN": "tok-SHOULD-NEVER-APPEAR-7f3a",
    "TICKETTRAK_POSTGRES_DSN": "postgresql://tt:pg-PASSWORD-NEVER-9d1c@db:5432/tickettrak",
    "TICKETTRAK_MONGO_URI": "mongodb://tt:mongo-PASSWORD-NEVER-2b8e@mongo:27017/",
}
NAMES = yaml.safe_load(NAMES_FILE.read_text())
SECRET_KEY_OF_ENV = {
    "TICKETTRAK_AVIASALES_TOKEN": NAMES["secret"]["keys"]["aviasalesToken"],
    "TICKETTRAK_POSTGRES_DSN": NAMES["secret"]["keys"]["postgresDsn"],
    "TICKETTRAK_MONGO_URI": NAMES["secret"]["keys"]["mongoUri"],
}
# task -> (image id in names.yaml, the secret env vars it gets: least privilege)
EXPECTED = {
    ("tickettrak_pipeline", "collect"): ("collector", {"TICKETTRAK_AVIASALES_TOKEN"}),
    ("tickettrak_pipeline", "load"): ("loader", {"TICKETTRAK_MONGO_URI", "TICKETTRAK_POSTGRES_DSN"}),
    ("tickettrak_pipeline", "transform"): ("dbtRunner", {"TICKETTRAK_POSTGRES_DSN"}),
    ("tickettrak_pipeline", "report"): ("report", {"TICKETTRAK_POSTGRES_DSN"}),
    ("tickettrak_source_freshness", "source_freshness"): ("dbtRunner", {"TICKETTRAK_POSTGRES_DSN"}),
}
EXPECTED_ARGS = {
    "collect": [
        "collect",
        "--logical-date",
        "2026-11-20",
        "--run-id",
        "scheduled__2026-11-20T00:00:00+00:00",
    ],
    "load": ["load"],
    "transform": ["transform"],
    "report": ["report"],
    "source_freshness": ["transform", "--freshness"],
}


@pytest.fixture(scope="module")
def pods() -> Iterator[dict[tuple[str, str], tuple[Any, dict[str, Any]]]]:
    """Every task's operator and pod manifest, built with secret values present in Airflow's env.

    Built once for the module (parsing and rendering is the slow part); the tests only read it.
    """
    with pytest.MonkeyPatch.context() as env:
        clear_tickettrak_env(env)
        env.setenv("TICKETTRAK_NAMES_FILE", str(NAMES_FILE))
        env.setenv("TICKETTRAK_AIRFLOW_MODE", "kubernetes")
        env.setenv("TICKETTRAK_AIRFLOW_IMAGE_TAG", TAG)
        for name, value in SECRET_VALUES.items():
            env.setenv(name, value)
        env.setenv("TICKETTRAK_AIRFLOW_API", "sandbox")  # the token above must not flip anything
        bag = parse_dags()
        assert bag.import_errors == {}
        built = {}
        for dag in bag.dags.values():
            for task in dag.tasks:
                built[(dag.dag_id, task.task_id)] = (task, pod_manifest(task))
        assert set(built) == set(EXPECTED)
        yield built


def _container(manifest: dict[str, Any]) -> dict[str, Any]:
    containers = manifest["spec"]["containers"]
    assert len(containers) == 1  # no xcom sidecar: stages do not push XComs
    container: dict[str, Any] = containers[0]
    return container


def test_image_repository_from_names_and_explicit_tag(pods: dict[tuple[str, str], Any]) -> None:
    for key, (_task, manifest) in pods.items():
        image_id, _ = EXPECTED[key]
        container = _container(manifest)
        assert container["image"] == f"{NAMES['images'][image_id]}:{TAG}", key
        assert container["imagePullPolicy"] == "IfNotPresent"
        assert container["command"] == ["tickettrak"]


def test_arguments_carry_the_rendered_logical_date(pods: dict[tuple[str, str], Any]) -> None:
    for (_dag_id, task_id), (_task, manifest) in pods.items():
        container = _container(manifest)
        assert container["args"] == EXPECTED_ARGS[task_id]
        plain_env = {e["name"]: e.get("value") for e in container["env"] if "value" in e}
        assert plain_env == {
            "TICKETTRAK_LOGICAL_DATE": "2026-11-20",
            "TICKETTRAK_RUN_ID": "scheduled__2026-11-20T00:00:00+00:00",
        }


def test_secrets_come_from_the_right_secret_keys_and_never_as_values(
    pods: dict[tuple[str, str], Any],
) -> None:
    for key, (_task, manifest) in pods.items():
        _, secret_envs = EXPECTED[key]
        container = _container(manifest)
        from_secret = {
            e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e
        }
        assert set(from_secret) == secret_envs, key
        for env_name, ref in from_secret.items():
            assert ref == {"name": NAMES["secret"]["name"], "key": SECRET_KEY_OF_ENV[env_name]}, key
        serialized = json.dumps(manifest)
        for value in SECRET_VALUES.values():
            for fragment in (value, value.split("//")[-1].split("@")[0]):
                assert fragment not in serialized, f"{key}: a secret value leaked into the pod spec"


def test_non_secret_settings_come_from_the_configmap(pods: dict[tuple[str, str], Any]) -> None:
    for _key, (_task, manifest) in pods.items():
        assert _container(manifest)["envFrom"] == [{"configMapRef": {"name": NAMES["configMap"]}}]


def test_namespace_service_account_resources_and_labels(pods: dict[tuple[str, str], Any]) -> None:
    for (dag_id, task_id), (_task, manifest) in pods.items():
        assert manifest["metadata"]["namespace"] == NAMES["namespace"]
        assert manifest["spec"]["serviceAccountName"] == NAMES["serviceAccount"]
        assert manifest["spec"]["restartPolicy"] == "Never"
        resources = _container(manifest)["resources"]
        assert set(resources["requests"]) == {"cpu", "memory"}
        assert set(resources["limits"]) == {"cpu", "memory"}
        labels = manifest["metadata"]["labels"]
        assert NAMES["podLabels"]["stage"].items() <= labels.items()
        assert labels["app.kubernetes.io/component"] == task_id
        assert labels["dag_id"] == dag_id and labels["task_id"] == task_id
        assert labels["try_number"] == "1"
        assert manifest["spec"]["securityContext"]["runAsNonRoot"] is True
        assert _container(manifest)["securityContext"]["allowPrivilegeEscalation"] is False


def test_read_only_root_with_one_scratch_emptydir(pods: dict[tuple[str, str], Any]) -> None:
    """Issue #10: nothing in a stage pod writes to the image; /tmp (an emptyDir) is all it gets."""
    for key, (_task, manifest) in pods.items():
        container = _container(manifest)
        security = container["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, key
        assert security["capabilities"] == {"drop": ["ALL"]}, key
        volumes = {v["name"]: v for v in manifest["spec"]["volumes"]}
        mounts = container["volumeMounts"]
        assert [m["mountPath"] for m in mounts] == ["/tmp"], key
        for mount in mounts:
            assert not mount.get("readOnly"), key
            # an emptyDir, i.e. per pod and gone with it: never a hostPath or a shared claim
            assert set(volumes[mount["name"]]) == {"name", "emptyDir"}, key
            assert volumes[mount["name"]]["emptyDir"]["sizeLimit"], key


def test_operator_lifecycle_settings(pods: dict[tuple[str, str], Any]) -> None:
    for key, (task, manifest) in pods.items():
        assert task.get_logs is True, key
        assert task.on_finish_action.value == "delete_succeeded_pod", key
        assert task.do_xcom_push is False, key
        # the stage's reason (written to /dev/termination-log) becomes the task's error
        assert _container(manifest)["terminationMessagePolicy"] == "FallbackToLogsOnError"
        assert manifest["spec"]["activeDeadlineSeconds"] == int(task.execution_timeout.total_seconds())


def test_registry_prefix(kubernetes_env: pytest.MonkeyPatch) -> None:
    kubernetes_env.setenv("TICKETTRAK_AIRFLOW_IMAGE_REGISTRY", "registry.local:5000/")
    task = parse_dags().dags["tickettrak_pipeline"].get_task("load")
    assert _container(pod_manifest(task))["image"] == f"registry.local:5000/{NAMES['images']['loader']}:{TAG}"


def _stable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest without what legitimately varies: the random pod-name suffix, Airflow's version."""
    stable = json.loads(json.dumps(manifest))
    name = stable["metadata"]["name"]
    stable["metadata"]["name"] = name.rsplit("-", 1)[0] + "-<random>"
    stable["metadata"]["labels"]["airflow_version"] = "<airflow-version>"
    return stable


@pytest.mark.parametrize(("dag_id", "task_id"), sorted(EXPECTED))
def test_pod_matches_snapshot(pods: dict[tuple[str, str], Any], dag_id: str, task_id: str) -> None:
    actual = _stable(pods[(dag_id, task_id)][1])
    path = SNAPSHOTS / f"{dag_id}.{task_id}.yaml"
    rendered = yaml.safe_dump(actual, sort_keys=True, default_flow_style=False)
    if os.environ.get("TICKETTRAK_TEST_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), (
        f"no snapshot {path.name}: run with TICKETTRAK_TEST_UPDATE_SNAPSHOTS=1 and review it"
    )
    assert yaml.safe_load(path.read_text()) == actual, f"pod spec changed; diff against {path}"


def test_in_cluster_by_default_or_a_kubeconfig(kubernetes_env: pytest.MonkeyPatch) -> None:
    task = parse_dags().dags["tickettrak_pipeline"].get_task("load")
    assert (task.in_cluster, task.config_file) == (True, None)
    kubernetes_env.setenv("TICKETTRAK_AIRFLOW_KUBECONFIG", "/tmp/kwok/kubeconfig")
    task = parse_dags().dags["tickettrak_pipeline"].get_task("load")
    assert (task.in_cluster, task.config_file) == (False, "/tmp/kwok/kubeconfig")
