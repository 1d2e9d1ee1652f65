"""The cluster path's make targets and deploy scripts, run for real against a recording fake
kubectl and helm (tests/unit/k8s/fake_cluster.py): what they would send to the cluster, in order."""

from __future__ import annotations

import base64
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pgserver
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


REAL_API = "https://api.travelpayouts.com"
SANDBOX_UPSTREAM = f"http://{NAMES['sandboxService']}.{NAMES['namespace']}.svc.cluster.local:8090"


def _applied_token(cluster: FakeCluster) -> str:
    secret = cluster.applied_objects()[NAMES["secret"]["name"]]
    return base64.b64decode(secret["data"][NAMES["secret"]["keys"]["aviasalesToken"]]).decode()


def _secrets(cluster: FakeCluster, **env: str | None) -> subprocess.CompletedProcess[str]:
    cluster.reset()
    return cluster.script("k8s-secrets.sh", env=cluster.env(**env))


def test_a_redeploy_without_the_token_keeps_it(cluster: FakeCluster) -> None:
    token_file = cluster.secrets_dir / "aviasales-token"
    first = _secrets(cluster, TICKETTRAK_AVIASALES_TOKEN="real-token-1")
    assert first.returncode == 0, first.stderr
    assert token_file.read_text() == "real-token-1" and _applied_token(cluster) == "real-token-1"

    # A new shell: the variable is not exported, or exported empty by accident.
    for unset_or_empty in (None, "", "  "):
        again = _secrets(cluster, TICKETTRAK_AVIASALES_TOKEN=unset_or_empty)
        assert again.returncode == 0, again.stderr
        assert token_file.read_text() == "real-token-1", "the token was dropped"
        assert _applied_token(cluster) == "real-token-1"
        assert "keeping the token" in again.stderr
        assert "real-token-1" not in again.stdout + again.stderr

    # A new token replaces it; CLEAR_TOKEN=1 empties it on purpose.
    rotated = _secrets(cluster, TICKETTRAK_AVIASALES_TOKEN="real-token-2")
    assert rotated.returncode == 0 and token_file.read_text() == "real-token-2"
    cleared = _secrets(cluster, CLEAR_TOKEN="1")
    assert cleared.returncode == 0, cleared.stderr
    assert token_file.read_text() == "" and _applied_token(cluster) == ""
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


def test_clear_token_and_a_token_together_are_refused(cluster: FakeCluster) -> None:
    _secrets(cluster, TICKETTRAK_AVIASALES_TOKEN="real-token-1")
    both = _secrets(cluster, TICKETTRAK_AVIASALES_TOKEN="real-token-2", CLEAR_TOKEN="1")
    assert both.returncode != 0 and "unset one of them" in both.stderr
    assert (cluster.secrets_dir / "aviasales-token").read_text() == "real-token-1"
    assert not list(cluster.applied.iterdir())


def test_deploy_refuses_to_switch_a_real_api_release_to_the_sandbox(cluster: FakeCluster) -> None:
    """A checkout without the token file (another machine, a fresh clone) must not silently turn
    the running real-API release into a sandbox one."""
    cluster.upstream = REAL_API  # the release's ConfigMap: the proxy calls the real API
    done = cluster.make("deploy")
    assert done.returncode != 0
    assert "make deploy CLEAR_TOKEN=1" in done.stderr and REAL_API in done.stderr
    assert NAMES["secret"]["name"] not in cluster.applied_objects()  # the Secret is left as it is
    assert not [argv for argv in cluster.calls("helm") if argv[:1] == ["upgrade"]]

    # On purpose: the sandbox, everywhere.
    cluster.reset()
    switched = cluster.make("deploy", CLEAR_TOKEN="1")
    assert switched.returncode == 0, switched.stderr
    assert "sandbox.enabled=true" in helm_upgrade(cluster.calls("helm"), "tickettrak")
    assert "helm/values/airflow-sandbox.yaml" in helm_upgrade(cluster.calls("helm"), "airflow")


@pytest.mark.parametrize("upstream", ["", SANDBOX_UPSTREAM])
def test_deploy_without_a_token_runs_the_sandbox_on_a_new_or_sandbox_cluster(
    cluster: FakeCluster, upstream: str
) -> None:
    cluster.upstream = upstream
    done = cluster.make("deploy")
    assert done.returncode == 0, done.stderr
    assert "sandbox.enabled=true" in helm_upgrade(cluster.calls("helm"), "tickettrak")
    assert _applied_token(cluster) == ""


def test_deploy_with_a_token_file_keeps_calling_the_real_api(cluster: FakeCluster) -> None:
    cluster.upstream = REAL_API
    assert cluster.make("deploy", env=cluster.env(TICKETTRAK_AVIASALES_TOKEN="real-token-1")).returncode == 0
    cluster.reset()
    again = cluster.make("deploy")  # a new shell, no token exported
    assert again.returncode == 0, again.stderr
    assert "sandbox.enabled=true" not in helm_upgrade(cluster.calls("helm"), "tickettrak")
    assert "helm/values/airflow-sandbox.yaml" not in helm_upgrade(cluster.calls("helm"), "airflow")
    assert _applied_token(cluster) == "real-token-1"


def _restarts(cluster: FakeCluster) -> list[list[str]]:
    return [argv for argv in cluster.calls("kubectl") if "rollout" in argv and "restart" in argv]


def test_a_new_token_restarts_the_proxy_once(cluster: FakeCluster) -> None:
    """The proxy reads its token only at start, and a token rotation changes nothing in the chart:
    deploy restarts it when the token changed, and only then."""
    proxy = f"deployment/{NAMES['proxyService']}"
    stamp = cluster.secrets_dir / "aviasales-token.deployed.sha256"

    def deploy(**env: str | None) -> list[list[str]]:
        cluster.reset()
        done = cluster.make("deploy", env=cluster.env(**env))
        assert done.returncode == 0, done.stderr
        return _restarts(cluster)

    assert len(deploy(TICKETTRAK_AVIASALES_TOKEN="real-token-1")) == 1  # no stamp yet: once
    assert deploy() == []  # same token (kept from the file): no restart
    assert deploy(TICKETTRAK_AVIASALES_TOKEN="real-token-1") == []
    restarted = deploy(TICKETTRAK_AVIASALES_TOKEN="real-token-2")
    assert [argv[argv.index("restart") + 1] for argv in restarted] == [proxy]
    # ...after the tickettrak release (the Secret is already updated), before Airflow's.
    calls = [json.loads(line) for line in cluster.log.read_text().splitlines()]
    order = [
        "restart" if "restart" in c["argv"] else c["argv"][2]
        for c in calls
        if "restart" in c["argv"] or c["argv"][:2] == ["upgrade", "--install"]
    ]
    assert order.index("tickettrak") < order.index("restart") < order.index("airflow")
    # The stamp holds a hash, owner-only; the token is nowhere in what deploy sent or printed.
    assert oct(stamp.stat().st_mode & 0o777) == "0o600"
    assert "real-token-2" not in stamp.read_text() and "real-token-2" not in cluster.log.read_text()


def test_a_failed_proxy_restart_is_retried_by_the_next_deploy(cluster: FakeCluster) -> None:
    cluster.reset()
    assert cluster.make("deploy", env=cluster.env(TICKETTRAK_AVIASALES_TOKEN="real-token-1")).returncode == 0
    cluster.reset()
    failed = cluster.make(
        "deploy", env=cluster.env(TICKETTRAK_AVIASALES_TOKEN="real-token-2", FAKE_FAIL_ROLLOUT="1")
    )
    assert failed.returncode != 0
    cluster.reset()
    retried = cluster.make("deploy")
    assert retried.returncode == 0, retried.stderr
    assert len(_restarts(cluster)) == 1


_JOB_CHART_TEMPLATE = """\
# Renders createUserJob.args and .env the way a chart passes values through: toYaml, then tpl.
args: {{ tpl (toYaml .Values.createUserJob.args) . | nindent 2 }}
env: {{ tpl (toYaml .Values.createUserJob.env) . | nindent 2 }}
"""


def test_the_airflow_admin_password_never_reaches_a_manifest(
    cluster: FakeCluster, helm: str, tmp_path: Path
) -> None:
    """The official chart's default create-user args carry the password as a literal. Ours read
    it from the environment, which takes it from the Secret deploy/k8s-secrets.sh makes.

    The official chart itself is not rendered here (no Helm repository access): a stand-in chart
    renders our values through the same toYaml + tpl, and bash runs the result."""
    # The deploy passes no password to helm, in any form.
    done = cluster.make("deploy")
    assert done.returncode == 0, done.stderr
    password = (cluster.secrets_dir / "airflow-admin-password").read_text()
    assert len(password) >= 24
    for argv in cluster.calls("helm"):
        assert not any("password" in arg.lower() for arg in argv), argv
    keys = cluster.applied_objects()["tickettrak-airflow-keys"]["data"]
    assert base64.b64decode(keys["admin-password"]).decode() == password

    # Our values, rendered: the env takes that Secret key, and no literal password is anywhere.
    values_file = Path(CHART).parent / "values" / "airflow.yaml"
    values = yaml.safe_load(values_file.read_text())
    chart = tmp_path / "stand-in"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: stand-in\nversion: 0.0.1\n")
    (chart / "templates" / "job.yaml").write_text(_JOB_CHART_TEMPLATE)
    rendered = subprocess.run(
        [helm, "template", "airflow", str(chart), "--values", str(values_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert password not in rendered.stdout
    job = next(d for d in yaml.safe_load_all(rendered.stdout) if d)
    (env,) = job["env"]
    assert env == {
        "name": "AIRFLOW_ADMIN_PASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "tickettrak-airflow-keys", "key": "admin-password"}},
    }

    # What the container runs: bash expands the password from the environment, at run time.
    fake_bin = tmp_path / "fake-airflow-bin"
    fake_bin.mkdir()
    (fake_bin / "airflow").write_text(
        f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n"
    )
    (fake_bin / "airflow").chmod(0o755)
    tricky = "pa ss'\"$(x)`y`*"  # whatever the file holds reaches airflow unchanged
    ran = subprocess.run(
        job["args"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": f"{fake_bin}:/usr/bin:/bin", "AIRFLOW_ADMIN_PASSWORD": tricky},
    )
    assert ran.returncode == 0, ran.stderr
    user = values["createUserJob"]["defaultUser"]
    assert json.loads(ran.stdout) == [
        "users", "create",
        "--role", user["role"],
        "--username", user["username"],
        "--email", user["email"],
        "--firstname", user["firstName"],
        "--lastname", user["lastName"],
        "--password", tricky,
    ]  # fmt: skip


def _print_env_tool(path: Path) -> Path:
    """A stand-in for psql / tickettrak: prints its argv and the PostgreSQL settings it was given."""
    path.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        "keys = ('PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'PGPASSWORD', 'TICKETTRAK_POSTGRES_DSN')\n"
        "print(json.dumps({'argv': sys.argv[1:], 'env': {k: os.environ.get(k) for k in keys}}))\n"
    )
    path.chmod(0o755)
    return path


def _assert_forward_stopped(pidfile: Path) -> None:
    pid = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"the port-forward (pid {pid}) still runs after the command ended")


@pytest.mark.parametrize(("target", "tool_variable"), [("psql", "PSQL"), ("report-k8s", "TT")])
def test_psql_and_report_get_the_password_in_their_environment_only(
    cluster: FakeCluster, tmp_path: Path, target: str, tool_variable: str
) -> None:
    tool = _print_env_tool(tmp_path / "tool")
    pidfile = tmp_path / "port-forward.pid"
    done = cluster.make(target, env=cluster.env(FAKE_PF_PIDFILE=str(pidfile)), **{tool_variable: str(tool)})
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout.splitlines()[-1])
    assert ran["env"] == {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(cluster.pf_port),
        "PGUSER": "analytics",
        "PGDATABASE": "tickettrak",
        "PGPASSWORD": cluster.pg_password,
        "TICKETTRAK_POSTGRES_DSN": f"host=127.0.0.1 port={cluster.pf_port} dbname=tickettrak user=analytics",
    }
    # Never on a command line: not kubectl's, not the tool's.
    assert cluster.pg_password not in json.dumps(cluster.calls()) + json.dumps(ran["argv"])
    forwards = [argv for argv in cluster.calls("kubectl") if "port-forward" in argv]
    assert forwards == [
        ["-n", "tickettrak", "port-forward", "service/tickettrak-pg-rw", ":5432", "--address", "127.0.0.1"]
    ]
    assert ran["argv"] == ([] if target == "psql" else ["report"])
    _assert_forward_stopped(pidfile)


def test_report_k8s_runs_the_real_report_cli_on_the_forwarded_port(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    """The real `tickettrak report` takes the forwarded DSN from its environment (nothing listens
    on the fake forward's port, so it stops at the connection, naming it, without the password)."""
    from tests.support import free_port

    cluster.pf_port = free_port()
    done = cluster.make("report-k8s", env=cluster.env(TICKETTRAK_HOME=str(tmp_path / "home")))
    assert done.returncode != 0
    assert "cannot reach PostgreSQL" in done.stderr and str(cluster.pf_port) in done.stderr
    assert cluster.pg_password not in done.stdout + done.stderr


@pytest.fixture
def password_postgres(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A real PostgreSQL (pgserver's binaries) that accepts only passwords (scram-sha-256), with a
    login role `analytics`: the end of the port-forward, on this machine. As root, it runs as
    pgserver's unprivileged user the way the embedded server does (PostgreSQL refuses root)."""
    from tests.support import free_port

    bin_dir = Path(pgserver.__file__).parent / "pginstall" / "bin"
    data, port = tmp_path / "pgdata", free_port()
    data.mkdir(mode=0o700)
    (data.parent / "pw").write_text("superuser-password\n")
    as_user: dict[str, Any] = {}
    if os.geteuid() == 0:
        from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

        account = ensure_user_exists("pgserver")
        assert account is not None
        ensure_prefix_permissions(data)
        (data.parent / "pw").chmod(0o644)
        os.chown(data, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid}
    # Output to files, not pipes: the server pg_ctl starts would hold a pipe open.
    log = (tmp_path / "pg.out").open("w")
    run = functools.partial(subprocess.run, check=True, stdout=log, stderr=log, timeout=120)
    try:
        run([bin_dir / "initdb", "-D", data, "-U", "postgres", "--auth=scram-sha-256",
             f"--pwfile={data.parent / 'pw'}"], **as_user)  # fmt: skip
        run([bin_dir / "pg_ctl", "-D", data, "-w", "-l", data / "server.log", "-o",
             f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], **as_user)  # fmt: skip
    except subprocess.CalledProcessError:
        raise AssertionError((tmp_path / "pg.out").read_text()) from None
    try:
        password = "analytics-Pa55-for-tests"
        run(
            [bin_dir / "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
             "-c", f"create role analytics login password '{password}'", "-c", "create database tickettrak"],
            env={**os.environ, "PGPASSWORD": "superuser-password"},
        )  # fmt: skip
        yield port, password
    finally:
        run([bin_dir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], **as_user)
        log.close()


def test_make_psql_logs_in_with_the_password_from_the_environment(
    cluster: FakeCluster, password_postgres: tuple[int, str]
) -> None:
    cluster.pf_port, cluster.pg_password = password_postgres
    done = subprocess.run(
        ["make", "--no-print-directory", "psql", f"KUBECTL={cluster.kubectl}"],
        cwd=Path(CHART).parents[1],
        env=cluster.env(),
        input="select current_user || '@' || current_database();\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "analytics@tickettrak" in done.stdout
