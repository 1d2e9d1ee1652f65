"""The pipeline DAG's stage tasks, `airflow tasks test` in kubernetes mode, against a real API.

Each task's KubernetesPodOperator creates its pod through the API server (admission included);
kwok binds-runs-completes it; the operator follows it, reads its logs, and deletes it when it
succeeded. A watch records every pod event meanwhile, so the assertions see the pod exactly as
the API server stored it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from airflow_runs import FAILING_IMAGE_TAG, IMAGE_TAG, TaskRun, prepare_airflow_db, run_task
from harness import ControlPlane
from k8s_helpers import NAMES_FILE
from pod_recorder import PodHistory, PodRecorder

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# What each stage must get, written out independently of the DAG's own table (dags/.../stages.py):
# names.yaml image id, and the Secret keys (names.yaml secret.keys ids) it may read.
EXPECTED = {
    "collect": ("collector", {"aviasalesToken"}),
    "load": ("loader", {"mongoUri", "postgresDsn"}),
    "transform": ("dbtRunner", {"postgresDsn"}),
    "report": ("report", {"postgresDsn"}),
}


@pytest.fixture(scope="session")
def airflow_db(control_plane: ControlPlane, release: str) -> None:
    prepare_airflow_db(control_plane)


def _core(plane: ControlPlane) -> Any:
    from kubernetes.client import CoreV1Api

    return CoreV1Api(plane.client())


def unresolved_references(core: Any, pod: Any) -> list[str]:
    """What a kubelet could not resolve for this pod: missing ServiceAccount, ConfigMap, Secret/key.

    kwok does not check references (a real kubelet would leave the pod in
    CreateContainerConfigError), so the tests ask the API server themselves.
    """
    from kubernetes.client.exceptions import ApiException

    ns = pod.metadata.namespace
    problems: list[str] = []

    def read(kind: str, reader: Any, name: str) -> Any:
        try:
            return reader(name, ns)
        except ApiException as error:
            if error.status != 404:
                raise
            problems.append(f"{kind} {ns}/{name} not found")
            return None

    read("ServiceAccount", core.read_namespaced_service_account, pod.spec.service_account_name)
    for container in pod.spec.containers:
        for source in container.env_from or []:
            if source.config_map_ref is not None:
                read("ConfigMap", core.read_namespaced_config_map, source.config_map_ref.name)
        for var in container.env or []:
            ref = var.value_from.secret_key_ref if var.value_from else None
            if ref is None:
                continue
            secret = read("Secret", core.read_namespaced_secret, ref.name)
            if secret is not None and ref.key not in (secret.data or {}):
                problems.append(f"Secret {ns}/{ref.name} has no key {ref.key!r}")
    return problems


def _only_pod(recorder: PodRecorder, task_id: str, run: TaskRun) -> PodHistory:
    pods = recorder.matching(f"tickettrak-{task_id.replace('_', '-')}")
    seen = [p.name for p in pods]
    assert len(pods) == 1, f"expected one pod for {task_id}, saw {seen}\n{run.output[-3000:]}"
    return pods[0]


@pytest.mark.usefixtures("airflow_db")
@pytest.mark.parametrize("task_id", list(EXPECTED))
def test_stage_task_runs_its_pod_and_cleans_up(
    control_plane: ControlPlane, names: dict[str, Any], task_id: str
) -> None:
    from kubernetes.client.exceptions import ApiException

    ns = names["namespace"]
    core = _core(control_plane)
    with PodRecorder(control_plane.client(), ns) as recorder:
        run = run_task(control_plane, task_id)
        # The operator issues the delete; kwok finalizes it (as a kubelet would) shortly after.
        recorder.wait_for(lambda: any(h.deleted for h in recorder.matching(f"tickettrak-{task_id}")))
    assert run.final_state == "success", run.output[-6000:]

    history = _only_pod(recorder, task_id, run)
    pod = history.first
    image_id, secret_ids = EXPECTED[task_id]
    assert pod.metadata.namespace == ns
    assert pod.spec.service_account_name == names["serviceAccount"]
    (container,) = pod.spec.containers
    assert container.image == f"{names['images'][image_id]}:{IMAGE_TAG}"
    assert [s.config_map_ref.name for s in container.env_from] == [names["configMap"]]
    secret_refs = {
        (v.value_from.secret_key_ref.name, v.value_from.secret_key_ref.key)
        for v in container.env or []
        if v.value_from and v.value_from.secret_key_ref
    }
    assert secret_refs == {(names["secret"]["name"], names["secret"]["keys"][k]) for k in secret_ids}
    assert unresolved_references(core, pod) == []
    assert names["podLabels"]["stage"].items() <= pod.metadata.labels.items()
    assert [p for p in history.phases if p in ("Running", "Succeeded")] == ["Running", "Succeeded"]
    # on_finish_action=delete_succeeded_pod: gone from the API, not just marked.
    assert history.deleted, history.phases
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_pod(history.name, ns)
    assert gone.value.status == 404


@pytest.mark.usefixtures("airflow_db")
def test_failed_pod_fails_the_task_with_its_termination_message(
    control_plane: ControlPlane, names: dict[str, Any]
) -> None:
    ns = names["namespace"]
    core = _core(control_plane)
    with PodRecorder(control_plane.client(), ns) as recorder:
        run = run_task(control_plane, "load", image_tag=FAILING_IMAGE_TAG)
    # `airflow tasks test` exits 0 even when the task fails: the recorded state is what counts.
    assert run.final_state in ("up_for_retry", "failed"), run.output[-6000:]
    assert "kwok-simulated failure: stage exited 1" in run.output, run.output[-6000:]

    history = _only_pod(recorder, "load", run)
    assert history.phases[-1] == "Failed"
    # A failed pod is kept for `kubectl logs` / `make logs`.
    kept = core.read_namespaced_pod(history.name, ns)
    assert kept.status.phase == "Failed"
    core.delete_namespaced_pod(history.name, ns)


def _names_variant(tmp_path: Path, names: dict[str, Any], **changes: Any) -> Path:
    variant = yaml.safe_load(NAMES_FILE.read_text())
    for dotted, value in changes.items():
        target = variant
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    path = tmp_path / "names.yaml"
    path.write_text(yaml.safe_dump(variant))
    return path


@pytest.mark.usefixtures("airflow_db")
def test_a_dag_whose_secret_name_is_wrong_is_caught(
    control_plane: ControlPlane, names: dict[str, Any], tmp_path: Path
) -> None:
    """The broken variant: the DAG reads a names.yaml whose Secret name the chart never created."""
    names_file = _names_variant(tmp_path, names, secret__name="tickettrak-secret-typo")
    ns = names["namespace"]
    core = _core(control_plane)
    with PodRecorder(control_plane.client(), ns) as recorder:
        run = run_task(control_plane, "transform", names_file=names_file)
    history = _only_pod(recorder, "transform", run)
    assert unresolved_references(core, history.first) == [f"Secret {ns}/tickettrak-secret-typo not found"]


@pytest.mark.usefixtures("airflow_db")
def test_a_dag_whose_service_account_is_wrong_fails_at_admission(
    control_plane: ControlPlane, names: dict[str, Any], tmp_path: Path
) -> None:
    """Another broken variant, refused by the API server itself (ServiceAccount admission)."""
    names_file = _names_variant(tmp_path, names, serviceAccount="tickettrak-stage-typo")
    ns = names["namespace"]
    with PodRecorder(control_plane.client(), ns) as recorder:
        run = run_task(control_plane, "report", names_file=names_file)
    assert run.final_state in ("up_for_retry", "failed"), run.output[-6000:]
    assert 'serviceaccount \\"tickettrak-stage-typo\\" not found' in run.output or (
        'serviceaccount "tickettrak-stage-typo" not found' in run.output
    ), run.output[-6000:]
    assert recorder.matching("tickettrak-report") == []
