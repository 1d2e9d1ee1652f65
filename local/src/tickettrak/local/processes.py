"""Local processes for the laptop path: the sandbox and the proxy, started with the same
`tickettrak` commands their containers run, on free ports, and always stopped afterwards."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tickettrak_executable() -> str:
    """The `tickettrak` next to this interpreter (the project's .venv), so children match the parent."""
    candidate = Path(sys.executable).with_name("tickettrak")
    return str(candidate) if candidate.exists() else "tickettrak"


class ServiceFailed(RuntimeError):
    """A local service did not come up; the message names it and its log file."""


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_service(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, ready_path: str, timeout: float = 60.0
) -> Service:
    """Run `tickettrak <args> --host 127.0.0.1 --port <free>` and wait until `ready_path` answers."""
    port = free_port()
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [tickettrak_executable(), *args, "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    url = f"http://127.0.0.1:{port}"
    service = Service(name, process, url, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reason = _last_error(log_path)
            raise ServiceFailed(
                f"{name} exited with code {process.returncode} at start"
                + (f": {reason}" if reason else "")
                + f"; see {log_path}"
            )
        try:
            if httpx.get(url + ready_path, timeout=1.0).status_code < 500:
                return service
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    service.stop()
    raise ServiceFailed(f"{name} did not answer on {url}{ready_path} within {timeout:.0f} s; see {log_path}")


def _last_error(log_path: Path) -> str | None:
    """The `error: ...` line a `tickettrak` command ends with when it fails (tickettrak.common.cli)."""
    try:
        lines = log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return None
    last = lines[-1] if lines else ""
    return last.removeprefix("error: ") if last.startswith("error: ") else None
