"""A real Kubernetes control plane on localhost: kine (SQLite) + kube-apiserver + kwok.

No kubelet can run here, so kwok plays the node: it drives every pod bound to its fake node
through Pending -> Running -> Succeeded (or Failed, see deploy/k8s-harness/kwok-stages.yaml) and
serves pod logs. There is no kube-scheduler and no kube-controller-manager either; `Housekeeper`
stands in for the two parts of them the tests depend on: binding unscheduled pods to the kwok node
(the scheduler's job) and creating each namespace's `default` ServiceAccount (the SA controller's).
Everything listens on 127.0.0.1 and free ports, and lives in one temp directory.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pki import Pki, make_pki

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS_DIR = REPO_ROOT / "deploy" / "k8s-harness"
K8S_VERSION = "v1.37.2"
NODE_NAME = "kwok-node-0"
# Fake ranges: written into API objects only; nothing ever sends traffic there.
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"


def tools_dir() -> Path:
    """Where `make k8s-harness-tools` puts the binaries (deploy/k8s-harness/build-tools.sh)."""
    explicit = os.environ.get("TICKETTRAK_K8S_HARNESS_BIN")
    if explicit:
        return Path(explicit)
    try:
        gopath = subprocess.run(
            ["go", "env", "GOPATH"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        gopath = str(Path.home() / "go")
    return Path(gopath) / "bin" / f"k8s-harness-{K8S_VERSION}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


class HarnessError(RuntimeError):
    """A control-plane process failed to start; the message carries its log tail."""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"


@dataclass
class ControlPlane:
    """Start with `start()`, stop with `stop()`; `kubeconfig` is the admin kubeconfig."""

    workdir: Path
    bin_dir: Path = field(default_factory=tools_dir)
    processes: list[Process] = field(default_factory=list)
    api_port: int = 0
    kwok_port: int = 0
    pki: Pki | None = None
    kubeconfig: Path | None = None
    housekeeper: Housekeeper | None = None
    log_server: KubeletLogServer | None = None

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        missing = [b for b in ("kube-apiserver", "kine", "kwok") if not (self.bin_dir / b).is_file()]
        if missing:
            raise HarnessError(
                f"missing {', '.join(missing)} in {self.bin_dir}: run `make k8s-harness-tools`"
            )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pki = make_pki(self.workdir / "pki")
        try:
            kine_url = self._start_kine()
            self._start_apiserver(kine_url)
            self.kubeconfig = self._write_kubeconfig()
            self._create_node()
            self._start_kwok()
            self.housekeeper = Housekeeper(self.client())
            self.housekeeper.start()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM every process group (newest first), SIGKILL what outlives 15 s."""
        if self.housekeeper is not None:
            self.housekeeper.stop()
        if self.log_server is not None:
            self.log_server.stop()
            self.log_server = None
        for proc in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
        for proc in reversed(self.processes):
            try:
                proc.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)

    def leftover_processes(self) -> list[str]:
        """Processes still alive that this control plane started (by pid or by its workdir)."""
        alive = []
        for proc in self.processes:
            if proc.popen.poll() is None:
                alive.append(f"{proc.name} (pid {proc.popen.pid})")
        marker = str(self.workdir).encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if marker in cmdline:
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                alive.append(f"pid {entry.name}: {command}")
        return alive

    # --- processes --------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                args,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # its own process group: stop() kills it and its children
            )
        proc = Process(name, popen, log)
        self.processes.append(proc)
        return proc

    def _wait(self, proc: Process, ready: Any, what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise HarnessError(f"{proc.name} exited ({proc.popen.returncode}):\n{proc.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise HarnessError(f"{proc.name}: {what} not ready after {timeout:.0f}s:\n{proc.tail()}")

    def _start_kine(self) -> str:
        port, metrics = free_port(), free_port()
        db = self.workdir / "kine" / "state.db"
        db.parent.mkdir()
        proc = self._spawn(
            "kine",
            [
                str(self.bin_dir / "kine"),
                f"--endpoint=sqlite://{db}?_journal=WAL&cache=shared&_busy_timeout=30000",
                f"--listen-address=127.0.0.1:{port}",
                f"--metrics-bind-address=127.0.0.1:{metrics}",
            ],
        )

        def listening() -> bool:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
            return False

        self._wait(proc, listening, "etcd endpoint")
        return f"http://127.0.0.1:{port}"

    def _start_apiserver(self, kine_url: str) -> None:
        assert self.pki is not None
        self.api_port = free_port()
        pki = self.pki
        proc = self._spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={kine_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                # The `kubernetes` Service's endpoints may not be loopback; nothing in-cluster uses it.
                "--endpoint-reconciler-type=none",
                f"--secure-port={self.api_port}",
                f"--cert-dir={self.workdir / 'pki'}",
                f"--tls-cert-file={pki.server_cert}",
                f"--tls-private-key-file={pki.server_key}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                # RBAC in force, as in the cluster (kind/kubeadm run Node,RBAC).
                "--authorization-mode=Node,RBAC",
                # kwok's node has only an InternalIP worth dialing (for `logs`).
                "--kubelet-preferred-address-types=InternalIP",
                "--profiling=false",
                "--enable-priority-and-fairness=false",
                "--v=1",
            ],
        )
        self._wait(proc, self._apiserver_ready, "/readyz", timeout=180)

    def _ssl_context(self) -> ssl.SSLContext:
        assert self.pki is not None
        ctx = ssl.create_default_context(cafile=str(self.pki.ca_cert))
        ctx.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return ctx

    def _apiserver_ready(self) -> bool:
        url = f"https://127.0.0.1:{self.api_port}/readyz"
        try:
            with urllib.request.urlopen(url, context=self._ssl_context(), timeout=5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _write_kubeconfig(self) -> Path:
        assert self.pki is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "harness",
                    "cluster": {
                        "server": f"https://127.0.0.1:{self.api_port}",
                        "certificate-authority-data": _b64(self.pki.ca_cert),
                    },
                }
            ],
            "users": [
                {
                    "name": "admin",
                    "user": {
                        "client-certificate-data": _b64(self.pki.admin_cert),
                        "client-key-data": _b64(self.pki.admin_key),
                    },
                }
            ],
            "contexts": [{"name": "harness", "context": {"cluster": "harness", "user": "admin"}}],
            "current-context": "harness",
        }
        path = self.workdir / "kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    def _create_node(self) -> None:
        from kubernetes.client import CoreV1Api, V1Node, V1ObjectMeta

        CoreV1Api(self.client()).create_node(
            V1Node(
                metadata=V1ObjectMeta(
                    name=NODE_NAME,
                    annotations={"kwok.x-k8s.io/node": "fake"},
                    labels={"kubernetes.io/hostname": NODE_NAME, "type": "kwok"},
                )
            )
        )

    def _start_kwok(self) -> None:
        assert self.kubeconfig is not None and self.pki is not None
        self.kwok_port = free_port()  # the node's kubelet port: served by KubeletLogServer
        self.log_server = KubeletLogServer(self.pki, self.kwok_port)
        self.log_server.start()
        (self.workdir / "kwok").mkdir()
        # kwok runs no server of its own (no --node-port/--server-address): the node's kubelet
        # port is written into its status by the node stage instead.
        stages = (HARNESS_DIR / "kwok-stages.yaml").read_text()
        stages = stages.replace("{{ with NodePort }}", f"{{{{ with {self.kwok_port} }}}}")
        config = self.workdir / "kwok" / "kwok.yaml"
        config.write_text(stages)
        env = {**os.environ, "HOME": str(self.workdir / "kwok")}  # no ~/.kwok/kwok.yaml leaks in
        proc = self._spawn(
            "kwok",
            [
                str(self.bin_dir / "kwok"),
                f"--kubeconfig={self.kubeconfig}",
                f"--config={config}",
                f"--manage-single-node={NODE_NAME}",
                "--node-ip=127.0.0.1",
                f"--cidr={POD_CIDR}",
            ],
            env=env,
        )
        self._wait(proc, self._node_ready, f"node {NODE_NAME}", timeout=60)

    def _node_ready(self) -> bool:
        from kubernetes.client import CoreV1Api

        node = CoreV1Api(self.client()).read_node(NODE_NAME)
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    # --- clients ----------------------------------------------------------------------------
    def client(self) -> Any:
        """A kubernetes ApiClient as the admin (system:masters)."""
        from kubernetes import config

        assert self.kubeconfig is not None
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def client_for_token(self, token: str) -> Any:
        """A kubernetes ApiClient authenticated with a bearer token (a ServiceAccount's)."""
        from kubernetes.client import ApiClient, Configuration

        assert self.pki is not None
        conf = Configuration()
        conf.host = f"https://127.0.0.1:{self.api_port}"
        conf.ssl_ca_cert = str(self.pki.ca_cert)
        conf.api_key = {"authorization": f"Bearer {token}"}
        return ApiClient(conf)

    def env(self) -> dict[str, str]:
        """Environment for helm/kubectl-like tools: this cluster only."""
        assert self.kubeconfig is not None
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}


class Housekeeper:
    """The two controller duties the tests rely on, run in a thread against the API.

    - scheduler: bind every pod without a node to the kwok node (pods/binding, as kube-scheduler);
    - serviceaccount controller: create the `default` ServiceAccount in each new namespace (the
      ServiceAccount admission plugin rejects pods that run as a missing account).
    """

    def __init__(self, api_client: Any) -> None:
        from kubernetes.client import CoreV1Api

        self.core = CoreV1Api(api_client)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="k8s-housekeeper", daemon=True)
        self.errors: list[str] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._bind_pending()
                self._default_service_accounts()
            except Exception as error:  # keep going; the tests see a pod that never ran
                self.errors.append(repr(error))
            self._stop.wait(0.25)

    def _bind_pending(self) -> None:
        from kubernetes.client import V1Binding, V1ObjectMeta, V1ObjectReference
        from kubernetes.client.exceptions import ApiException

        for pod in self.core.list_pod_for_all_namespaces(field_selector="spec.nodeName=").items:
            if pod.metadata.deletion_timestamp is not None:
                continue
            binding = V1Binding(
                metadata=V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace),
                target=V1ObjectReference(api_version="v1", kind="Node", name=NODE_NAME),
            )
            with contextlib.suppress(ApiException):  # already bound or gone meanwhile
                self.core.create_namespaced_binding(pod.metadata.namespace, binding, _preload_content=False)

    def _default_service_accounts(self) -> None:
        from kubernetes.client import V1ObjectMeta, V1ServiceAccount
        from kubernetes.client.exceptions import ApiException

        have = {
            sa.metadata.namespace
            for sa in self.core.list_service_account_for_all_namespaces(
                field_selector="metadata.name=default"
            ).items
        }
        for ns in self.core.list_namespace().items:
            name = ns.metadata.name
            if name in have or ns.status.phase == "Terminating":
                continue
            with contextlib.suppress(ApiException):
                self.core.create_namespaced_service_account(
                    name, V1ServiceAccount(metadata=V1ObjectMeta(name="default"))
                )


class KubeletLogServer:
    """The one kubelet endpoint the tests need: GET /containerLogs/<ns>/<pod>/<container>.

    kwok's own log server follows a log until the client hangs up (its runtime stub reports
    every container as running), which would hold the KubernetesPodOperator for its 5-minute
    read timeout. This one answers with one line and ends the stream, as a kubelet does for a
    container that has exited. TLS with the control plane's serving cert, on 127.0.0.1.
    """

    def __init__(self, pki: Pki, port: int) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not self.path.startswith("/containerLogs/"):
                    self.send_error(404)
                    return
                body = b"2026-11-20T00:00:00.000000000Z kwok: simulated container output\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki.server_cert), str(pki.server_key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self.server.serve_forever, name="kubelet-logs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def running_control_plane(workdir: Path) -> Iterator[ControlPlane]:
    plane = ControlPlane(workdir=workdir)
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()
