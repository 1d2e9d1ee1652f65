"""The cluster path's make targets and deploy scripts, run for real against a recording fake
kubectl and helm (tests/unit/k8s/fake_cluster.py): what they would send to the cluster, in order."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
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


AIRFLOW_PYTHON = Path(__file__).resolve().parents[3] / ".venv-airflow" / "bin" / "python"
SCHEDULER_POD = "pod/airflow-scheduler-0"  # LocalExecutor + worker persistence: a StatefulSet's pod


def _airflow_cli_parses(argv: list[str]) -> dict[str, str]:
    """The Airflow CLI's own parser (Airflow 3, .venv-airflow) on `airflow <argv>`."""
    if not AIRFLOW_PYTHON.is_file():
        pytest.fail(f"{AIRFLOW_PYTHON} is missing: run `make airflow-venv`")
    code = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "args = get_parser().parse_args(sys.argv[1:])\n"
        "print(json.dumps({k: str(v) for k, v in vars(args).items()}))\n"
    )
    done = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env={"AIRFLOW__CORE__LOAD_EXAMPLES": "False", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, str] = json.loads(done.stdout.splitlines()[-1])
    return parsed


def test_trigger_finds_the_scheduler_pod_by_label_and_gives_the_run_a_logical_date(
    cluster: FakeCluster,
) -> None:
    cluster.pods = SCHEDULER_POD + "\n"
    before = datetime.now(UTC).replace(microsecond=0)
    done = cluster.make("trigger", env=cluster.env())
    assert done.returncode == 0, done.stderr
    kubectl = cluster.calls("kubectl")
    lookups = [argv for argv in kubectl if "get" in argv]
    assert lookups and all("component=scheduler,release=airflow" in argv for argv in lookups), lookups
    execs = [argv for argv in kubectl if "exec" in argv]
    assert [argv[argv.index("exec") + 1 : argv.index("--")] for argv in execs] == [
        [SCHEDULER_POD, "-c", "scheduler"]
    ] * 3
    commands = [argv[argv.index("--") + 1 :] for argv in execs]
    assert [c[:3] for c in commands] == [
        ["airflow", "dags", "unpause"],
        ["airflow", "dags", "trigger"],
        ["airflow", "dags", "list-runs"],
    ]
    trigger = _airflow_cli_parses(commands[1][1:])
    assert trigger["dag_id"] == "tickettrak_pipeline"
    logical = datetime.fromisoformat(trigger["logical_date"])
    assert before <= logical <= datetime.now(UTC)  # a run without one renders no {{ ds }}
    assert _airflow_cli_parses(commands[2][1:])["dag_id"] == "tickettrak_pipeline"


def test_trigger_says_so_when_no_scheduler_pod_runs(cluster: FakeCluster) -> None:
    done = cluster.make("trigger")
    assert done.returncode != 0
    assert "no running Airflow scheduler pod" in done.stderr
    assert not [argv for argv in cluster.calls("kubectl") if "exec" in argv]
