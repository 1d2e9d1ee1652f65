"""Secrets and hardening.

A distinctive token is configured for a whole `tickettrak run` (the sandbox, started with
`--token <it>`, accepts nothing else; the proxy gets it as TICKETTRAK_AVIASALES_TOKEN with
TICKETTRAK_AVIASALES_BASE_URL = the sandbox): afterwards the token — plain, base64 or URL-encoded
— is in no file under TICKETTRAK_HOME (RAW, PostgreSQL's data and WAL, every log, dbt's files, the
report), in no row of any PostgreSQL table, in no output of the run, and in the rendered Helm
manifests only inside the Secret (with existingSecret: nowhere). Containers: non-root, read-only
root filesystem, no privilege escalation; images run as a numeric non-root USER.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
import yaml

from tests.reliability.proxy_process import clean_env
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
TICKETTRAK = str(Path(sys.executable).with_name("tickettrak"))
TOKEN = "ttCanary-9f3Q-Xk27-rel1ab1l1ty"  # distinctive: found by a search nowhere else
NEEDLES = [TOKEN.encode(), base64.b64encode(TOKEN.encode()), quote(TOKEN, safe="").encode()]


def files_holding(root: Path) -> list[str]:
    """Every file under `root` whose bytes contain the token in any of its encodings."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(needle in data for needle in NEEDLES):
                found.append(str(path))
    return found


def rows_holding(dsn: str) -> list[str]:
    """Tables of every user schema with a row whose text form contains the token."""
    found = []
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "FROM information_schema.tables WHERE table_type IN ('BASE TABLE', 'VIEW') "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert len(tables) >= 6, tables  # request_logs, tickets, ODS/DWH, marts
        for (table,) in tables:
            hit = conn.execute(
                f"SELECT count(*) FROM {table} t WHERE t::text LIKE %s",
                (f"%{TOKEN}%",),
            ).fetchone()
            if hit and hit[0]:
                found.append(table)
    return found


def test_the_search_finds_a_planted_token(tmp_path: Path) -> None:
    """The searches themselves can fail: a planted token is found in each encoding."""
    for i, needle in enumerate(NEEDLES):
        (tmp_path / f"f{i}.bin").write_bytes(b"\x00prefix" + needle + b"suffix")
    assert len(files_holding(tmp_path)) == len(NEEDLES)


@pytest.mark.slow
def test_token_is_nowhere_after_a_full_run(tmp_path: Path) -> None:
    port = free_port()
    home, logs = tmp_path / "home", tmp_path / "outputs"
    logs.mkdir()
    sandbox_log = (logs / "sandbox.log").open("wb")
    sandbox = subprocess.Popen(
        [TICKETTRAK, "sandbox", "--port", str(port), "--token", TOKEN, "--rate-limit-scale", "0"],
        env=clean_env(tmp_path / "sandbox-home"),
        stdout=sandbox_log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base_url + "/__sandbox/stats", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and sandbox.poll() is None, "the sandbox did not start"
            time.sleep(0.2)
        env = clean_env(
            home, {"TICKETTRAK_AVIASALES_TOKEN": TOKEN, "TICKETTRAK_AVIASALES_BASE_URL": base_url}
        )
        run = subprocess.run(
            [TICKETTRAK, "run"], env=env, cwd=tmp_path, capture_output=True, timeout=900, check=False
        )
        (logs / "run.stdout").write_bytes(run.stdout)
        (logs / "run.stderr").write_bytes(run.stderr)
        assert run.returncode == 0, run.stderr[-3000:].decode(errors="replace")
        stats = httpx.get(base_url + "/__sandbox/stats", timeout=10).json()
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        sandbox_log.close()

    # the token was really used: the sandbox accepts no other, and it answered 200s
    assert sum(int(c.get("200", 0)) for c in stats["by_endpoint"].values()) > 0, stats
    from tickettrak.common.embedded.postgres import open_postgres
    from tickettrak.common.settings import load_settings

    with open_postgres(load_settings(home=str(home))) as dsn:
        with psycopg.connect(dsn) as conn:
            tickets = conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone()
        assert tickets is not None and tickets[0] > 0
        assert rows_holding(dsn) == []
    assert list(home.rglob("*.html")), "no report was written"
    assert (home / "logs").is_dir() and list((home / "logs").rglob("*.log"))
    assert files_holding(home) == []  # RAW, PostgreSQL data + WAL, logs, dbt files, the report
    assert files_holding(logs) == []  # the run's own output, the sandbox's log


def _helm() -> str:
    go = shutil.which("go")
    gopath = (
        subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True).stdout.strip() if go else ""
    )
    helm = os.environ.get("HELM") or str(Path(gopath or Path.home() / "go") / "bin" / "helm")
    if not Path(helm).is_file():
        pytest.fail(f"helm not found at {helm}: run `make ci-tools`")
    return helm


def _render(*values: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [_helm(), "template", "tt", str(REPO / "helm" / "tickettrak"), "-n", "tickettrak",
         "--set", "sandbox.enabled=true", *[a for v in values for a in ("--set", v)]],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return [d for d in yaml.safe_load_all(out) if d]


def test_helm_manifests_hold_the_token_only_in_the_secret() -> None:
    given = _render(
        f"secrets.aviasalesToken={TOKEN}",
        "secrets.postgresDsn=postgresql://u:pw@db:5432/tt",
        "secrets.mongoUri=mongodb://u:pw@mongo:27017/tt",
    )
    holders = [d["kind"] for d in given if any(n.decode() in yaml.safe_dump(d) for n in NEEDLES)]
    assert holders == ["Secret"], holders  # the chart's Secret, and nothing else (env, ConfigMap, notes)
    managed = _render("existingSecret=my-secret", f"secrets.aviasalesToken={TOKEN}")
    assert not [d["kind"] for d in managed if any(n.decode() in yaml.safe_dump(d) for n in NEEDLES)]


def test_containers_run_non_root_on_read_only_root_filesystems() -> None:
    manifests = _render("secrets.postgresDsn=postgresql://u:pw@db/tt", "secrets.mongoUri=mongodb://u:pw@m/tt")
    checked = 0
    for doc in manifests:
        spec = doc.get("spec") or {}
        pod = spec.get("template", {}).get("spec") if isinstance(spec, dict) and "template" in spec else None
        if doc.get("kind") == "Pod":
            pod = spec
        if not pod:
            continue
        pod_security = pod.get("securityContext") or {}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            security = {**pod_security, **(container.get("securityContext") or {})}
            name = f"{doc['kind']}/{doc['metadata']['name']}/{container['name']}"
            assert security.get("runAsNonRoot") is True, name
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("allowPrivilegeEscalation") is False, name
            checked += 1
    assert checked >= 2  # the proxy and the sandbox at least
    dockerfiles = [
        *REPO.glob("*/Dockerfile"),
        *REPO.glob("jobs/*/Dockerfile"),
        *REPO.glob("deploy/*/Dockerfile"),
    ]
    assert len(dockerfiles) >= 6
    for dockerfile in dockerfiles:
        users = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
        assert users, f"{dockerfile} has no USER"
        uid = users[-1].split(":")[0]
        assert uid.isdigit() and int(uid) != 0, f"{dockerfile}: USER {users[-1]}"


# --- stage pods (the Airflow DAG's KubernetesPodOperator pods) on a read-only root: issue #10 ---

POD_SNAPSHOTS = REPO / "tests" / "unit" / "dags" / "snapshots"  # the operator's pods, snapshot-tested
STAGE_PODS = [  # pipeline order; the freshness check last (it reads what the load wrote)
    "tickettrak_pipeline.collect",
    "tickettrak_pipeline.load",
    "tickettrak_pipeline.transform",
    "tickettrak_pipeline.report",
    "tickettrak_source_freshness.source_freshness",
]
STAGE_UID = 10001  # the stage images' numeric USER


def _pod(name: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((POD_SNAPSHOTS / f"{name}.yaml").read_text())
    return manifest


@dataclass(frozen=True)
class ImageRuntime:
    """What a stage image's final stage sets for its process (the parts a pod inherits)."""

    env: dict[str, str]
    workdir: str
    home: str  # the USER's home in /etc/passwd: the container runtime sets HOME from it
    user: str


def _image_runtime(image: str) -> ImageRuntime:
    """The runtime of the Dockerfile whose image title is `image`'s repository (tag dropped)."""
    repository = image.rsplit(":", 1)[0]
    for dockerfile in REPO.glob("jobs/*/Dockerfile"):
        final = dockerfile.read_text().replace("\\\n", " ").rsplit("\nFROM ", 1)[1]
        if f'org.opencontainers.image.title="{repository}"' not in final:
            continue
        env: dict[str, str] = {}
        workdir, home, user = "/", "", ""
        for line in final.splitlines():
            word, _, rest = line.strip().partition(" ")
            if word == "ENV":
                env.update(item.split("=", 1) for item in shlex.split(rest))  # type: ignore[misc]
            elif word == "WORKDIR":
                workdir = rest.strip()
            elif word == "USER":
                user = rest.strip()
            if match := re.search(r"--home-dir (\S+)", line):
                home = match.group(1)
        return ImageRuntime(env, workdir, home, user)
    raise AssertionError(f"no jobs/*/Dockerfile builds {repository}")


def _chart_config() -> dict[str, Any]:
    values = yaml.safe_load((REPO / "helm" / "tickettrak" / "values.yaml").read_text())
    config: dict[str, Any] = values["config"]
    return config


def _scratch_dirs(pod: dict[str, Any]) -> list[str]:
    """The container's writable mounts: emptyDir volumes, not mounted read-only."""
    empty_dirs = {v["name"] for v in pod["spec"]["volumes"] if "emptyDir" in v}
    (container,) = pod["spec"]["containers"]
    return [
        m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs and not m.get("readOnly")
    ]


def _under(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


@pytest.mark.parametrize("name", STAGE_PODS)
def test_stage_pods_have_read_only_root_filesystems(name: str) -> None:
    """Every place a stage image writes (its WORKDIR, HOME, TICKETTRAK_HOME from the image and from
    the chart's ConfigMap, dbt's target/ and logs/) lies on an emptyDir of the pod."""
    pod = _pod(name)
    (container,) = pod["spec"]["containers"]
    security = {**pod["spec"]["securityContext"], **container["securityContext"]}
    assert security["readOnlyRootFilesystem"] is True
    assert security["runAsNonRoot"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    scratch = _scratch_dirs(pod)
    image = _image_runtime(container["image"])
    assert image.user.split(":")[0] == str(STAGE_UID)
    writes = {
        "WORKDIR": image.workdir,
        "HOME": image.home,
        "TICKETTRAK_HOME (image)": image.env["TICKETTRAK_HOME"],
        "TICKETTRAK_HOME (ConfigMap)": _chart_config()["home"],
        **{k: v for k, v in image.env.items() if k in ("DBT_TARGET_PATH", "DBT_LOG_PATH")},
    }
    unwritable = {what: path for what, path in writes.items() if not _under(path, scratch)}
    assert not unwritable, f"{name}: not on an emptyDir {scratch}: {unwritable}"
    assert image.env.get("PYTHONDONTWRITEBYTECODE") == "1"  # no __pycache__ next to the venv


@contextmanager
def _tcp_to_unix(socket_path: str) -> Iterator[int]:
    """127.0.0.1:<port> forwarded to a unix socket: the embedded PostgreSQL's socket lives under
    /tmp, which the emulated pod's emptyDir hides, so its stage reaches it over TCP like a pod."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()
    opened: list[socket.socket] = []

    def pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(socket_path)
            opened.extend((client, upstream))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        acceptor.join(5)
        server.close()
        for sock in opened:
            sock.close()


# Runs as root in a private mount namespace (unshare -m): every mount but /proc, /sys and /dev is
# remounted read-only, a fresh tmpfs (the pod's emptyDir, gone with the "pod") is mounted on each
# scratch dir, a probe proves the root is read-only even for root, then the stage runs as the
# image's USER with no capabilities and no_new_privs (runAsNonRoot, drop ALL,
# allowPrivilegeEscalation false). One capability is kept: CAP_DAC_READ_SEARCH (read-only), only
# because this machine's Python lives under /root (mode 700); it grants no write anywhere.
_POD_SCRIPT = r"""
set -e
probe=$1 workdir=$2 scratch=$3; shift 3
for mp in $(cut -d' ' -f5 /proc/self/mountinfo | sort -u); do
  case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue;; esac
  mount -o remount,bind,ro "$mp"
done
for dir in $scratch; do mount -t tmpfs -o size=1g,mode=1777 emptydir "$dir"; done
if touch "$probe/.rw-probe" 2>/dev/null; then
  rm -f "$probe/.rw-probe"; echo "root filesystem still writable"; exit 97
fi
cd "$workdir"
exec setpriv --reuid {uid} --regid {uid} --clear-groups --inh-caps=-all,+dac_read_search \
  --ambient-caps=+dac_read_search --bounding-set=-all,+dac_read_search --no-new-privs -- env -i "$@"
"""


def _run_as_pod(
    pod: dict[str, Any], env: dict[str, str], extra_args: list[str], scratch: list[str]
) -> subprocess.CompletedProcess[str]:
    (container,) = pod["spec"]["containers"]
    image = _image_runtime(container["image"])
    script = _POD_SCRIPT.replace("{uid}", image.user.split(":")[0])
    command = [*container["command"], *container["args"], *extra_args]
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "pod",
         str(REPO), image.workdir, " ".join(scratch), *[f"{k}={v}" for k, v in env.items()], *command],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _pod_env(pod: dict[str, Any], configmap: dict[str, str], secrets: dict[str, str]) -> dict[str, str]:
    """The process environment Kubernetes would give the container: image ENV, then the
    ConfigMap (envFrom), then the container's env (values and Secret keys); HOME from the USER."""
    (container,) = pod["spec"]["containers"]
    image = _image_runtime(container["image"])
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v.replace("/app/.venv/bin", venv_bin).replace("$PATH", "/usr/local/bin:/usr/bin:/bin")
        for k, v in image.env.items()
    }
    env["HOME"] = image.home
    env.update(configmap)
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        elif item["name"] in secrets:  # a secret the test has no value for stays unset
            env[item["name"]] = secrets[item["name"]]
    return env


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mount namespaces and tmpfs mounts need root (CI runs as root)")
def test_stage_commands_run_on_a_read_only_root_filesystem(
    collector_stack: Any, postgres_dsn: str, mongo_uri: str, tmp_path: Path
) -> None:
    """Each stage pod's real command, as its container would run it: collect -> load -> transform
    -> report -> source freshness, each in a fresh emulated pod (read-only root, emptyDir only)."""
    import psycopg.conninfo

    from tests.fixtures.ferretdb import unique_database_name

    database = unique_database_name("ro")
    stack = collector_stack(
        proxy_env={"TICKETTRAK_MONGO_URI": mongo_uri, "TICKETTRAK_MONGO_DATABASE": database}
    )
    logical_date = datetime.now(UTC).date().isoformat()
    # The routes file is read from outside the scratch dirs (/tmp is the pod's emptyDir here).
    outside = Path(tempfile.mkdtemp(prefix="tt-ro-pod-", dir="/var/tmp"))
    routes = outside / "routes.yaml"
    routes.write_text(yaml.safe_dump({
        "version": 1,
        "routes": {"origins": ["MOW", "LED"], "destinations": ["DXB"], "both_directions": True},
        "horizon": {"daily_days": 0, "months": 2},
        "trips": {"one_way": True, "round_trip_days": [7]},
        "queries": [
            {"endpoint": "prices_for_dates", "trips": ["one_way"], "departures": ["monthly"]},
            {"endpoint": "grouped_prices", "trips": ["round_trip"], "departures": ["monthly"], "months": 1},
        ],
    }))  # fmt: skip
    os.chmod(outside, 0o755)  # noqa: S103 (the stage runs as uid 10001 and must read it)
    os.chmod(routes, 0o644)
    config = _chart_config()
    configmap = {
        "TICKETTRAK_PROXY_URL": stack.proxy_url,
        "TICKETTRAK_MONGO_DATABASE": database,
        "TICKETTRAK_LOG_FORMAT": config["logFormat"],
        "TICKETTRAK_LOG_LEVEL": config["logLevel"],
        "TICKETTRAK_HOME": config["home"],
    }
    conninfo = psycopg.conninfo.conninfo_to_dict(postgres_dsn)
    socket_path = f"{conninfo['host']}/.s.PGSQL.{conninfo.get('port') or 5432}"
    try:
        with _tcp_to_unix(socket_path) as pg_port:
            tcp_dsn = psycopg.conninfo.make_conninfo(postgres_dsn, host="127.0.0.1", port=str(pg_port))
            secrets = {"TICKETTRAK_POSTGRES_DSN": tcp_dsn, "TICKETTRAK_MONGO_URI": mongo_uri}
            for name in STAGE_PODS:
                pod = _pod(name)
                for item in pod["spec"]["containers"][0]["env"]:  # the snapshot's date -> today's
                    if item["name"] == "TICKETTRAK_LOGICAL_DATE":
                        snapshot_date = item["value"]
                pod = json.loads(json.dumps(pod).replace(snapshot_date, logical_date))
                env = _pod_env(pod, configmap, secrets)
                extra = ["--routes", str(routes)] if name.endswith(".collect") else []
                scratch = _scratch_dirs(pod)
                if name.endswith(".transform"):
                    # The control: without its emptyDir the same pod fails on the read-only root,
                    # so the emulation does bite (and the mount is what makes the stage work).
                    denied = _run_as_pod(pod, env, extra, scratch=[])
                    assert denied.returncode not in (0, 97), denied.stdout[-2000:] + denied.stderr[-2000:]
                    assert "read-only file system" in (denied.stdout + denied.stderr).lower()
                done = _run_as_pod(pod, env, extra, scratch)
                output = done.stdout[-3000:] + done.stderr[-3000:]
                assert done.returncode == 0, f"{name} on a read-only root: exit {done.returncode}\n{output}"
            with psycopg.connect(postgres_dsn) as conn:
                tickets = conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone()
                marts = conn.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'mart\\_%'"
                ).fetchone()
            assert tickets and tickets[0] > 0 and marts and marts[0] >= 4, (tickets, marts)
    finally:
        shutil.rmtree(outside, ignore_errors=True)
