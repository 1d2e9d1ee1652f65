"""A control plane's teardown leaves nothing running: no process, no listening port."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from harness import ControlPlane

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_stop_leaves_no_process_and_no_port(tmp_path: Path) -> None:
    from kubernetes.client import CoreV1Api

    plane = ControlPlane(workdir=tmp_path / "k8s")
    plane.start()
    try:
        assert {p.name for p in plane.processes} == {"kine", "kube-apiserver", "kwok"}
        assert all(p.popen.poll() is None for p in plane.processes)
        assert CoreV1Api(plane.client()).read_node("kwok-node-0").metadata.name == "kwok-node-0"
        ports = [plane.api_port, plane.kwok_port]
        assert all(_listening(port) for port in ports)
    finally:
        plane.stop()
    assert plane.leftover_processes() == []
    assert not any(_listening(port) for port in ports)
