"""Record every pod event in a namespace (a watch in a thread) while an Airflow task runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PodHistory:
    name: str
    first: Any  # the pod as created (the spec the operator sent, after admission)
    last: Any
    phases: list[str] = field(default_factory=list)
    deleted: bool = False


class PodRecorder:
    def __init__(self, api_client: Any, namespace: str) -> None:
        from kubernetes.client import CoreV1Api

        self.core = CoreV1Api(api_client)
        self.namespace = namespace
        self.pods: dict[str, PodHistory] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pod-recorder", daemon=True)

    def __enter__(self) -> PodRecorder:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("pod watch did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _record(self, kind: str, pod: Any) -> None:
        name = pod.metadata.name
        with self._lock:
            history = self.pods.setdefault(name, PodHistory(name=name, first=pod, last=pod))
            history.last = pod
            phase = pod.status.phase if pod.status else None
            if phase and (not history.phases or history.phases[-1] != phase):
                history.phases.append(phase)
            if kind == "DELETED":
                history.deleted = True

    def _run(self) -> None:
        from kubernetes import watch

        version = self.core.list_namespaced_pod(self.namespace).metadata.resource_version
        self._ready.set()
        while not self._stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(
                self.core.list_namespaced_pod,
                self.namespace,
                resource_version=version,
                timeout_seconds=1,
            ):
                pod = event["object"]
                version = pod.metadata.resource_version
                self._record(event["type"], pod)
                if self._stop.is_set():
                    stream.stop()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 20) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        return False

    def matching(self, prefix: str) -> list[PodHistory]:
        with self._lock:
            return [h for name, h in self.pods.items() if name.startswith(prefix)]
