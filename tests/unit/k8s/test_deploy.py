"""The cluster path around the chart: pinned third-party charts and their values, the Secrets that
`make deploy` creates, kind-config, and the make targets — all checked without a cluster."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.k8s.conftest import REPO, kind_kubernetes_version, load_names, make_variable, tool

NAMES = load_names()
VALUES = REPO / "helm" / "values"


def _values(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((VALUES / name).read_text())
    return data


@pytest.mark.parametrize(
    ("values_file", "chart_version_variable"),
    [
        ("cnpg-operator.yaml", "CNPG_OPERATOR_CHART_VERSION"),
        ("postgresql.yaml", "CNPG_CLUSTER_CHART_VERSION"),
        ("mongodb.yaml", "MONGODB_CHART_VERSION"),
        ("airflow.yaml", "AIRFLOW_CHART_VERSION"),
    ],
)
def test_third_party_charts_are_pinned_and_documented(values_file: str, chart_version_variable: str) -> None:
    version = make_variable(chart_version_variable)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    header = (VALUES / values_file).read_text().split("\n\n", 1)[0]
    assert version in header, f"{values_file}: name the pinned chart version ({version}) in its header"
    deploy = (REPO / "mk" / "k8s.mk").read_text()
    assert f"--version $({chart_version_variable})" in deploy


def test_postgresql_has_the_three_schemas_and_a_read_only_analytics_role() -> None:
    cluster = _values("postgresql.yaml")["cluster"]
    sql = "\n".join(cluster["initdb"]["postInitApplicationSQL"])
    for schema in ("aviasales", "ods", "dwh"):
        assert f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION tickettrak" in sql
    assert "GRANT USAGE ON SCHEMA ods, dwh TO analytics" in sql
    assert (
        "ALTER DEFAULT PRIVILEGES FOR ROLE tickettrak IN SCHEMA ods, dwh GRANT SELECT ON TABLES TO analytics"
        in sql
    )
    assert "ALTER ROLE analytics SET default_transaction_read_only = on" in sql
    assert not re.search(r"GRANT (INSERT|UPDATE|DELETE|ALL|CREATE)[^;]* TO analytics", sql)
    roles = {role["name"]: role for role in cluster["roles"]}
    assert roles["analytics"]["login"] and not roles["analytics"].get("superuser")
    assert cluster["initdb"]["database"] == "tickettrak" and cluster["initdb"]["owner"] == "tickettrak"


def test_database_labels_match_the_network_policies(helm: str) -> None:
    from tests.unit.k8s.conftest import helm_template

    done = helm_template(helm, "--set", "existingSecret=x")
    policies = {
        d["metadata"]["name"]: d
        for d in yaml.safe_load_all(done.stdout)
        if d and d["kind"] == "NetworkPolicy"
    }
    postgres = policies["tickettrak-postgres"]["spec"]["podSelector"]["matchLabels"]
    assert postgres == {"cnpg.io/cluster": _values("postgresql.yaml")["fullnameOverride"]}
    mongo = policies["tickettrak-mongodb"]["spec"]["podSelector"]["matchLabels"]
    assert mongo == {"app.kubernetes.io/name": "mongodb"}
    # The MongoDB chart's own allow-all NetworkPolicy would be unioned with ours and undo it.
    assert _values("mongodb.yaml")["networkPolicy"]["enabled"] is False


def test_mongodb_image_is_pinned_deliberately() -> None:
    mongo = _values("mongodb.yaml")
    assert mongo["image"]["repository"] == "bitnamilegacy/mongodb"
    assert re.fullmatch(r"\d+\.\d+\.\d+-debian-\d+-r\d+", mongo["image"]["tag"])
    assert mongo["global"]["security"]["allowInsecureImages"] is True
    assert mongo["architecture"] == "replicaset"  # majority write concern needs a replica set
    for sub in ("metrics", "volumePermissions"):
        assert mongo[sub]["image"]["repository"].startswith("bitnamilegacy/")


def test_airflow_runs_our_image_as_the_launcher_account() -> None:
    airflow = _values("airflow.yaml")
    assert airflow["images"]["airflow"]["repository"] == NAMES["images"]["airflow"]
    assert airflow["defaultAirflowRepository"] == NAMES["images"]["airflow"]
    assert airflow["scheduler"]["serviceAccount"] == {"create": False, "name": NAMES["airflowServiceAccount"]}
    assert airflow["executor"] == "LocalExecutor"
    assert airflow["postgresql"]["enabled"] is False and airflow["dags"]["gitSync"]["enabled"] is False
    pins = (REPO / "dags" / "requirements-airflow.in").read_text()
    assert f"apache-airflow=={airflow['airflowVersion']}" in pins
    for key in (
        "fernetKeySecretName",
        "webserverSecretKeySecretName",
        "apiSecretKeySecretName",
        "jwtSecretName",
    ):
        assert airflow[key] == "tickettrak-airflow-keys", key
    assert airflow["data"]["metadataSecretName"] == "tickettrak-airflow-keys"
    assert "password" not in airflow["createUserJob"]["defaultUser"]


def test_kind_cluster_pins_the_node_image_and_keeps_ports_local() -> None:
    config = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert kind_kubernetes_version() == make_variable("K8S_VERSION")
    assert config["name"] == make_variable("CLUSTER").split()[-1]
    for mapping in config["nodes"][0].get("extraPortMappings", []):
        assert mapping["listenAddress"] == "127.0.0.1"


def _kind_config_check(config: Path) -> subprocess.CompletedProcess[str]:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed: kind-config.yaml is decoded with kind's own Go types")
    return subprocess.run(
        [go, "-C", str(REPO / "deploy" / "kindconfigcheck"), "run", ".", str(config)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_kind_config_decodes_strictly_into_kinds_types(tmp_path: Path) -> None:
    done = _kind_config_check(REPO / "kind-config.yaml")
    assert done.returncode == 0, done.stderr
    assert f"role=control-plane image=kindest/node:v{make_variable('K8S_VERSION')}@sha256:" in done.stdout
    # A misspelled field fails the same decoding.
    broken = tmp_path / "kind-config.yaml"
    broken.write_text(
        (REPO / "kind-config.yaml").read_text().replace("extraPortMappings", "extraPortMapping")
    )
    done = _kind_config_check(broken)
    assert done.returncode != 0 and 'unknown field "extraPortMapping"' in done.stderr
    # ...and the kind version whose types decode it is the one `make kind-tool` builds.
    assert (
        f"sigs.k8s.io/kind {make_variable('KIND_VERSION')}"
        in (REPO / "deploy" / "kindconfigcheck" / "go.mod").read_text()
    )


def test_make_targets_exist() -> None:
    listed = subprocess.run(
        ["make", "-s", "help"], capture_output=True, text=True, cwd=REPO, timeout=60
    ).stdout
    for target in (
        "kind-up",
        "images",
        "kind-load",
        "deploy",
        "port-forward",
        "logs",
        "psql",
        "report-k8s",
        "trigger",
        "kind-down",
        "helm-tool",
        "kube-tools",
        "kube-check",
    ):
        assert re.search(rf"^\s+{target}\s", listed, re.M), f"make {target} is missing from make help"
    dry = subprocess.run(
        ["make", "-n", "images", "TAG=abc123"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    assert "--tag $repo:abc123" in dry.stdout and "--build-arg TICKETTRAK_IMAGE_TAG=abc123" in dry.stdout
    deploy = subprocess.run(
        ["make", "-n", "deploy", "TAG=abc123"], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    assert deploy.returncode == 0, deploy.stderr
    order = [line for line in deploy.stdout.splitlines() if "upgrade --install" in line]
    releases = [line.split("upgrade --install", 1)[1].split()[0] for line in order]
    assert releases == ["cnpg", "tickettrak-pg", "mongodb", "tickettrak", "airflow"]
    assert all("--wait" in line for line in deploy.stdout.split("upgrade --install")[1:])


@pytest.fixture
def kubectl_shim(tmp_path: Path) -> tuple[Path, Path]:
    """`kubectl` that renders Secrets client-side (the real binary) and records what it would apply."""
    real = shutil.which("kubectl")
    if real is None:
        pytest.skip(
            "kubectl is not installed: deploy/k8s-secrets.sh renders Secrets with `kubectl create --dry-run`"
        )
    applied = tmp_path / "applied"
    applied.mkdir()
    shim = tmp_path / "kubectl"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = apply ]; then cat > "$APPLIED/$(date +%s%N).yaml"; exit 0; fi\n'
        # Reads of the cluster's state: an empty cluster (no release yet).
        'for a in "$@"; do [ "$a" = get ] && exit 0; done\n'
        f'exec {real} "$@"\n'
    )
    shim.chmod(0o755)
    return shim, applied


def _run_secrets_script(
    shim: Path, applied: Path, secrets_dir: Path, token: str
) -> dict[str, dict[str, Any]]:
    for old in applied.iterdir():
        old.unlink()
    env = {
        **os.environ,
        "KUBECTL": str(shim),
        "APPLIED": str(applied),
        "DIR": str(secrets_dir),
        "NS": NAMES["namespace"],
        "TICKETTRAK_AVIASALES_TOKEN": token,
    }
    done = subprocess.run(
        ["bash", str(REPO / "deploy" / "k8s-secrets.sh")],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    objects = [yaml.safe_load(p.read_text()) for p in sorted(applied.iterdir())]
    return {obj["metadata"]["name"]: obj for obj in objects}


def test_deploy_secrets_match_every_consumer(kubectl_shim: tuple[Path, Path], tmp_path: Path) -> None:
    import base64

    from tickettrak.common.settings import load_settings

    shim, applied = kubectl_shim
    secrets_dir = tmp_path / "k8s-secrets"
    first = _run_secrets_script(shim, applied, secrets_dir, token="")
    assert oct(secrets_dir.stat().st_mode & 0o777) == "0o700"
    decoded = {
        name: {k: base64.b64decode(v).decode() for k, v in obj["data"].items()} for name, obj in first.items()
    }

    # The Secret the proxy and the stage pods read: names.yaml's name and keys, valid settings.
    stages = decoded[NAMES["secret"]["name"]]
    assert set(stages) == set(NAMES["secret"]["keys"].values())
    settings = load_settings(
        postgres_dsn=stages["postgres-dsn"],
        mongo_uri=stages["mongo-uri"],
        aviasales_token=stages["aviasales-token"],
    )
    assert settings.uses_sandbox  # no token given: the cluster runs against the sandbox
    assert "tickettrak-pg-rw." in stages["postgres-dsn"] and "replicaSet=rs0" in stages["mongo-uri"]

    # What the third-party values reference exists, with the keys those charts read.
    postgresql = _values("postgresql.yaml")["cluster"]
    assert first[postgresql["initdb"]["secret"]["name"]]["type"] == "kubernetes.io/basic-auth"
    for role in postgresql["roles"]:
        secret = decoded[role["passwordSecret"]["name"]]
        assert secret["username"] == role["name"] and len(secret["password"]) >= 24
    assert set(decoded[_values("mongodb.yaml")["auth"]["existingSecret"]]) == {
        "mongodb-root-password",
        "mongodb-passwords",
        "mongodb-replica-set-key",
    }
    airflow_keys = decoded["tickettrak-airflow-keys"]
    assert set(airflow_keys) == {
        "connection",
        "fernet-key",
        "api-secret-key",
        "jwt-secret",
        "webserver-secret-key",
        "admin-password",  # createUserJob's env (helm/values/airflow.yaml), never a helm value
    }
    assert len(base64.urlsafe_b64decode(airflow_keys["fernet-key"])) == 32
    assert airflow_keys["connection"].startswith("postgresql://airflow:")

    # A second run keeps every generated credential (no rotation under a running cluster) and
    # picks up a token given later.
    second = _run_secrets_script(shim, applied, secrets_dir, token="real-token-value")
    again = {
        name: {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}
        for name, obj in second.items()
    }
    assert again["tickettrak-pg-owner"] == decoded["tickettrak-pg-owner"]
    assert again["tickettrak-airflow-keys"] == airflow_keys
    assert again[NAMES["secret"]["name"]]["aviasales-token"] == "real-token-value"


def test_deploy_secrets_are_schema_valid(kubectl_shim: tuple[Path, Path], tmp_path: Path) -> None:
    shim, applied = kubectl_shim
    _run_secrets_script(shim, applied, tmp_path / "k8s-secrets", token="")
    done = subprocess.run(
        [
            tool("kubernetes-validate"),
            "--strict",
            "--quiet",
            "--kubernetes-version",
            kind_kubernetes_version(),
            *map(str, sorted(applied.iterdir())),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_deploy_labels_the_namespace_for_pod_security() -> None:
    """`make deploy` puts Pod Security Admission labels on the namespace before any release."""
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "deploy"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    label = next(line for line in dry_run.splitlines() if " label namespace " in line)
    assert dry_run.index(label) < dry_run.index("helm upgrade --install")  # before any pod exists
    assert f"label namespace {NAMES['namespace']} --overwrite" in label
    assert make_variable("POD_SECURITY_ENFORCE") in ("baseline", "restricted")
    for mode, level in (("enforce", make_variable("POD_SECURITY_ENFORCE")), ("warn", "restricted")):
        assert f"pod-security.kubernetes.io/{mode}={level}" in label, label
