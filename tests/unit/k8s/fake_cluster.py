"""Run the real make targets and deploy scripts of the cluster path against a recording fake
`kubectl` and `helm` (no cluster here).

The fakes record every call (argv, one JSON line each) and answer the few reads the targets make
from a small scenario: the upstream URL in the ConfigMap of an existing release, the analytics
password, the port a port-forward got. `kubectl ... --dry-run=client` runs the real kubectl (it
renders Secrets offline), so what would be applied is real YAML.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.unit.k8s.conftest import REPO, make_variable

_FAKE = r'''#!{python}
"""A fake {tool}: records its argv, answers a few reads from the FAKE_* environment."""
import base64, json, os, sys, time

args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": "{tool}", "argv": args}}) + "\n")

def out(text):
    sys.stdout.write(text)
    sys.stdout.flush()

if "{tool}" == "helm":
    if args[:2] == ["version", "--short"]:
        out(os.environ["FAKE_HELM_VERSION"] + "\n")
    sys.exit(0)

if "--dry-run=client" in args:  # offline rendering: the real kubectl
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
if "apply" in args:
    applied = os.environ["FAKE_APPLIED"]
    with open(os.path.join(applied, f"{{time.time_ns()}}.yaml"), "w") as f:
        f.write(sys.stdin.read())
    sys.exit(0)
if "get" in args and "configmap" in args:
    out(os.environ.get("FAKE_UPSTREAM", ""))  # empty: no release yet (--ignore-not-found)
elif "get" in args and "secret" in args:
    key = "username" if any("username" in a for a in args) else "password"
    out(base64.b64encode(os.environ["FAKE_PG_" + key.upper()].encode()).decode())
elif "get" in args and ("pod" in args or "pods" in args):
    out(os.environ.get("FAKE_PODS", ""))
elif "rollout" in args and os.environ.get("FAKE_FAIL_ROLLOUT"):
    sys.exit(1)
elif "port-forward" in args:
    if os.environ.get("FAKE_PF_PIDFILE"):
        with open(os.environ["FAKE_PF_PIDFILE"], "w") as f:
            f.write(str(os.getpid()))
    out(f"Forwarding from 127.0.0.1:{{os.environ['FAKE_PF_PORT']}} -> 5432\n")
    time.sleep(300)  # until the caller stops it
sys.exit(int(os.environ.get("FAKE_KUBECTL_RC", "0")))
'''


@dataclass
class FakeCluster:
    """The fake tools in `bin`, what they record, and the scenario they answer from."""

    root: Path
    upstream: str = ""  # TICKETTRAK_AVIASALES_BASE_URL of an existing tickettrak release
    pods: str = ""
    pg_username: str = "analytics"
    pg_password: str = "pg-password-for-tests"
    pf_port: int = 54329
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bin = self.root / "bin"
        self.applied = self.root / "applied"
        self.log = self.root / "calls.jsonl"
        self.secrets_dir = self.root / "k8s-secrets"
        for directory in (self.bin, self.applied):
            directory.mkdir(parents=True, exist_ok=True)
        for tool in ("kubectl", "helm"):
            path = self.bin / tool
            path.write_text(_FAKE.format(python=sys.executable, tool=tool))
            path.chmod(0o755)

    @property
    def kubectl(self) -> Path:
        return self.bin / "kubectl"

    @property
    def helm(self) -> Path:
        return self.bin / "helm"

    def env(self, **overrides: str | None) -> dict[str, str]:
        real = shutil.which("kubectl")
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TICKETTRAK_", "CLEAR_TOKEN", "MAKE"))
        }
        env.update(
            {
                "FAKE_LOG": str(self.log),
                "FAKE_APPLIED": str(self.applied),
                "FAKE_UPSTREAM": self.upstream,
                "FAKE_PODS": self.pods,
                "FAKE_PG_USERNAME": self.pg_username,
                "FAKE_PG_PASSWORD": self.pg_password,
                "FAKE_PF_PORT": str(self.pf_port),
                "FAKE_HELM_VERSION": make_variable("HELM_VERSION"),
                "REAL_KUBECTL": real or "/nonexistent/kubectl",
                **self.extra_env,
            }
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def calls(self, tool: str | None = None) -> list[list[str]]:
        if not self.log.exists():
            return []
        records = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [r["argv"] for r in records if tool is None or r["tool"] == tool]

    def applied_objects(self) -> dict[str, dict[str, Any]]:
        objects = [yaml.safe_load(p.read_text()) for p in sorted(self.applied.iterdir())]
        return {obj["metadata"]["name"]: obj for obj in objects if obj}

    def reset(self) -> None:
        self.log.unlink(missing_ok=True)
        for old in self.applied.iterdir():
            old.unlink()

    def make(
        self, *targets: str, env: dict[str, str] | None = None, **variables: str
    ) -> subprocess.CompletedProcess[str]:
        """`make <targets>` in the repository with the fakes as KUBECTL and HELM."""
        assigned = {
            "KUBECTL": str(self.kubectl),
            "HELM": str(self.helm),
            "K8S_SECRETS_DIR": str(self.secrets_dir),
            **variables,
        }
        return subprocess.run(
            ["make", "--no-print-directory", *targets, *(f"{k}={v}" for k, v in assigned.items())],
            cwd=REPO,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def script(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """deploy/<name> with KUBECTL = the fake and DIR = this cluster's secrets directory."""
        base = env if env is not None else self.env()
        base = {
            **base,
            "KUBECTL": str(self.kubectl),
            "DIR": str(self.secrets_dir),
            "NS": "tickettrak",
            "PYTHON": base.get("PYTHON", sys.executable),
        }
        return subprocess.run(
            ["bash", str(REPO / "deploy" / name), *args],
            cwd=REPO,
            env=base,
            capture_output=True,
            text=True,
            timeout=120,
        )


def helm_upgrade(calls: list[list[str]], release: str) -> list[str]:
    """The argv of `helm upgrade --install <release> ...` (exactly one)."""
    found = [argv for argv in calls if argv[:3] == ["upgrade", "--install", release]]
    assert len(found) == 1, f"expected one `helm upgrade --install {release}`, got {found}"
    return found[0]
