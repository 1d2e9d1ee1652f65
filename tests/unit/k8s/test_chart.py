"""The tickettrak chart: lint, render per profile, and what each object must say."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest

from tests.unit.k8s.conftest import (
    CHART,
    PROFILES,
    PROFILES_DIR,
    REPO,
    Rendered,
    helm_template,
    kind_kubernetes_version,
    load_names,
)

NAMES = load_names()


@pytest.mark.parametrize("profile", PROFILES)
def test_helm_lint_is_clean(helm: str, profile: str) -> None:
    done = subprocess.run(
        [
            helm,
            "lint",
            "--strict",
            str(CHART),
            "--namespace",
            NAMES["namespace"],
            "--kube-version",
            kind_kubernetes_version(),
            "--values",
            str(PROFILES_DIR / f"{profile}.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 chart(s) failed" in done.stdout


def test_every_profile_renders_the_shared_objects(each_profile: Rendered) -> None:
    ns = NAMES["namespace"]
    assert {o["metadata"].get("namespace") for o in each_profile.objects} == {ns}
    each_profile.get("ConfigMap", NAMES["configMap"])
    each_profile.get("ServiceAccount", NAMES["serviceAccount"])
    each_profile.get("ServiceAccount", NAMES["airflowServiceAccount"])
    each_profile.get("Deployment", NAMES["proxyService"])
    each_profile.get("Service", NAMES["proxyService"])
    each_profile.get("Role", "tickettrak-pod-launcher")
    each_profile.get("RoleBinding", "tickettrak-pod-launcher")
    assert len(each_profile.all("NetworkPolicy")) >= 4


def _proxy_container(rendered: Rendered) -> dict[str, Any]:
    pod = rendered.get("Deployment", NAMES["proxyService"])["spec"]["template"]
    [container] = pod["spec"]["containers"]
    return container


def test_proxy_is_probed_limited_and_locked_down(each_profile: Rendered) -> None:
    deployment = each_profile.get("Deployment", NAMES["proxyService"])
    pod = deployment["spec"]["template"]
    container = _proxy_container(each_profile)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] > 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False and security["privileged"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert pod["spec"]["automountServiceAccountToken"] is False
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert annotations["prometheus.io/port"] == str(container["ports"][0]["containerPort"])
    # The image's entry point is `tickettrak`; the chart passes the subcommand.
    assert container["args"][:1] == ["proxy"] and "command" not in container
    assert container["image"] == f"{NAMES['images']['proxy']}:{_tag(each_profile)}"
    # The one writable place is an emptyDir at /tmp, where TICKETTRAK_HOME lives.
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/tmp"]


def _tag(rendered: Rendered) -> str:
    return "0123456789ab" if rendered.profile == "existing-secret" else "0.1.0"


def test_replicas_share_one_token_budget(rendered: dict[str, Rendered]) -> None:
    from tickettrak.proxy.config import ProxySettings

    for profile, replicas in (("default", 1), ("three-replicas", 3)):
        env = {e["name"]: e.get("value") for e in _proxy_container(rendered[profile])["env"]}
        fraction = ProxySettings(
            rate_limit_fraction=env["TICKETTRAK_PROXY_RATE_LIMIT_FRACTION"]
        ).rate_limit_fraction
        assert fraction * replicas <= 0.95 < (fraction + 0.001) * replicas, (profile, fraction)


def test_replicas_and_disruption_budget_follow_the_profile(rendered: dict[str, Rendered]) -> None:
    scaled = rendered["three-replicas"]
    assert scaled.get("Deployment", NAMES["proxyService"])["spec"]["replicas"] == 3
    assert scaled.get("PodDisruptionBudget", NAMES["proxyService"])["spec"]["minAvailable"] == 1
    single = rendered["default"]
    assert single.get("Deployment", NAMES["proxyService"])["spec"]["replicas"] == 1
    assert not single.all("PodDisruptionBudget")


def _secret_refs(container: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {
        env["name"]: (env["valueFrom"]["secretKeyRef"]["name"], env["valueFrom"]["secretKeyRef"]["key"])
        for env in container.get("env", [])
        if "valueFrom" in env
    }


def test_secret_is_created_or_referenced(rendered: dict[str, Rendered]) -> None:
    keys = NAMES["secret"]["keys"]
    created = rendered["default"].get("Secret", NAMES["secret"]["name"])
    assert set(created["stringData"]) == set(keys.values())
    refs = _secret_refs(_proxy_container(rendered["default"]))
    assert refs["TICKETTRAK_AVIASALES_TOKEN"] == (NAMES["secret"]["name"], keys["aviasalesToken"])
    assert refs["TICKETTRAK_MONGO_URI"] == (NAMES["secret"]["name"], keys["mongoUri"])

    existing = rendered["existing-secret"]
    assert not existing.all("Secret"), "with existingSecret the chart must not create a Secret"
    refs = _secret_refs(_proxy_container(existing))
    assert {name for name, _ in refs.values()} == {"tickettrak-secrets"}
    # No credential is ever a literal in a pod spec.
    for rendered_profile in rendered.values():
        for env in _proxy_container(rendered_profile).get("env", []):
            if env["name"] in (
                "TICKETTRAK_AVIASALES_TOKEN",
                "TICKETTRAK_MONGO_URI",
                "TICKETTRAK_POSTGRES_DSN",
            ):
                assert "value" not in env, f"{env['name']} is a literal in {rendered_profile.profile}"


def test_missing_credentials_stop_the_render_with_a_reason(helm: str) -> None:
    done = helm_template(helm)
    assert done.returncode != 0
    assert "secrets.postgresDsn is required" in done.stderr


def test_wrong_namespace_is_refused(helm: str) -> None:
    done = subprocess.run(
        [
            helm,
            "template",
            "tickettrak",
            str(CHART),
            "--namespace",
            "default",
            "--set",
            "existingSecret=x",
            "--kube-version",
            kind_kubernetes_version(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert f'install tickettrak into namespace "{NAMES["namespace"]}"' in done.stderr


@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("proxy.replicas=0", "replicas"),
        ("image.tag=latest", "tag"),
        ("proxy.replica=3", "replica"),  # a misspelled key is an error, not silently ignored
        ("config.home=/var/lib/tickettrak", "home"),
        ("secrets.mongoUri=http://nope", "mongoUri"),
    ],
)
def test_values_schema_rejects_bad_values(helm: str, setting: str, complaint: str) -> None:
    done = helm_template(helm, "--set", "existingSecret=x", "--set", setting)
    assert done.returncode != 0, f"{setting} was accepted"
    assert "schema" in done.stderr and complaint in done.stderr


def test_configmap_settings_are_valid_tickettrak_settings(rendered: dict[str, Rendered]) -> None:
    from tickettrak.common.settings import ENV_PREFIX, Settings, load_settings

    data = rendered["default"].get("ConfigMap", NAMES["configMap"])["data"]
    known = {ENV_PREFIX + field.upper() for field in Settings.model_fields}
    assert set(data) <= known, f"unknown settings in the ConfigMap: {set(data) - known}"
    settings = load_settings(**{k.removeprefix(ENV_PREFIX).lower(): v for k, v in data.items()})
    ns, service = NAMES["namespace"], NAMES["proxyService"]
    port = _proxy_container(rendered["default"])["ports"][0]["containerPort"]
    assert settings.proxy_url == f"http://{service}.{ns}.svc.cluster.local:{port}"
    assert str(settings.home).startswith("/tmp/")
    sandboxed = rendered["three-replicas"].get("ConfigMap", NAMES["configMap"])["data"]
    assert sandboxed["TICKETTRAK_AVIASALES_BASE_URL"].startswith(f"http://{NAMES['sandboxService']}.")
    assert data["TICKETTRAK_AVIASALES_BASE_URL"] == "https://api.travelpayouts.com"


def test_proxy_service_targets_the_proxy_pods(each_profile: Rendered) -> None:
    service = each_profile.get("Service", NAMES["proxyService"])
    labels = each_profile.get("Deployment", NAMES["proxyService"])["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_airflow_may_launch_pods_and_stages_get_no_api_token(each_profile: Rendered) -> None:
    role = each_profile.get("Role", "tickettrak-pod-launcher")
    pods = next(rule for rule in role["rules"] if rule["resources"] == ["pods"])
    assert {"create", "get", "list", "watch", "delete"} <= set(pods["verbs"])
    assert any(rule["resources"] == ["pods/log"] for rule in role["rules"])
    assert not any("*" in rule["verbs"] or "secrets" in rule["resources"] for rule in role["rules"])
    binding = each_profile.get("RoleBinding", "tickettrak-pod-launcher")
    assert binding["roleRef"]["name"] == "tickettrak-pod-launcher"
    assert {
        "kind": "ServiceAccount",
        "name": NAMES["airflowServiceAccount"],
        "namespace": NAMES["namespace"],
    } in binding["subjects"]
    stage_account = each_profile.get("ServiceAccount", NAMES["serviceAccount"])
    assert stage_account["automountServiceAccountToken"] is False


def _policy(rendered: Rendered, name: str) -> dict[str, Any]:
    return rendered.get("NetworkPolicy", name)["spec"]


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return policy["podSelector"]["matchLabels"].items() <= labels.items()


def test_only_the_proxy_reaches_the_internet(each_profile: Rendered) -> None:
    for policy in each_profile.all("NetworkPolicy"):
        blocks = [
            peer
            for rule in policy["spec"].get("egress", [])
            for peer in rule.get("to", [])
            if "ipBlock" in peer
        ]
        if policy["metadata"]["name"] == "tickettrak-proxy":
            [block] = blocks
            assert block["ipBlock"]["cidr"] == "0.0.0.0/0"
            assert "10.0.0.0/8" in block["ipBlock"]["except"]
        else:
            assert not blocks, f"{policy['metadata']['name']} lets pods reach outside the cluster"
    stages = _policy(each_profile, "tickettrak-stages")
    assert _selects(stages, NAMES["podLabels"]["stage"])
    assert set(stages["policyTypes"]) == {"Ingress", "Egress"} and stages["ingress"] == []


def test_only_stages_and_the_proxy_reach_the_databases(each_profile: Rendered) -> None:
    stage = NAMES["podLabels"]["stage"]
    proxy = each_profile.get("Deployment", NAMES["proxyService"])["spec"]["template"]["metadata"]["labels"]
    databases = {"tickettrak-postgres": {"stage", "airflow"}, "tickettrak-mongodb": {"stage", "proxy"}}
    for name, expected in databases.items():
        policy = _policy(each_profile, name)
        selector = policy["podSelector"]["matchLabels"]
        first = policy["ingress"][0]  # the client rule (the second is the database's own peers)
        clients = set()
        for peer in first["from"]:
            labels = peer["podSelector"]["matchLabels"]
            if labels.items() <= stage.items():
                clients.add("stage")
            elif labels.items() <= proxy.items():
                clients.add("proxy")
            elif labels == {"tier": "airflow"}:
                clients.add("airflow")  # Airflow's own metadata database
            else:
                raise AssertionError(f"{name}: unexpected client {labels}")
        assert clients == expected, name
        assert "ports" in first
        peers = policy["ingress"][1]["from"]
        assert {"podSelector": {"matchLabels": selector}} in peers


def test_helm_test_hook_checks_the_proxy(each_profile: Rendered) -> None:
    pod = each_profile.get("Pod", "tickettrak-test-proxy")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = " ".join(pod["spec"]["containers"][0]["args"])
    service = f"http://{NAMES['proxyService']}.{NAMES['namespace']}.svc.cluster.local"
    assert f"{service}:8080/healthz" in script and f"{service}:8080/readyz" in script
    assert "--fail" in script


def test_values_examples_name_settings_the_code_reads() -> None:
    """Every TICKETTRAK_* name values.yaml shows as an example is read by some TicketTrak code:
    settings ignore unknown names silently, so a made-up example would configure nothing."""
    from tickettrak.common.settings import ENV_PREFIX, Settings
    from tickettrak.proxy.config import ProxySettings

    text = (CHART / "values.yaml").read_text()
    sources = "\n".join(
        p.read_text()
        for root in ("libs", "proxy", "jobs", "sandbox", "local")
        for p in (REPO / root).rglob("*.py")
        if ".venv" not in p.parts
    )
    for name in sorted(set(re.findall(r"TICKETTRAK_[A-Z0-9_]*[A-Z0-9](?![A-Za-z0-9_*])", text))):
        field = name.removeprefix(ENV_PREFIX).lower()
        proxy_field = name.removeprefix("TICKETTRAK_PROXY_").lower()
        read = (
            f'"{name}"' in sources
            or field in Settings.model_fields
            or (name.startswith("TICKETTRAK_PROXY_") and proxy_field in ProxySettings.model_fields)
        )
        assert read, f"helm/tickettrak/values.yaml mentions {name}, which no TicketTrak code reads"
