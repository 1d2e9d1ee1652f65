"""How the DAGs run here: every knob is an environment variable, read once at parse time.

Reading the environment (and one small YAML file) is all a DAG file does at import: no network,
no database, so the DAG processor parses it in milliseconds. A bad value raises `ConfigError`,
which Airflow shows as the DAG's import error, naming the variable.

| variable | default | meaning |
|---|---|---|
| TICKETTRAK_AIRFLOW_MODE | local | `local`: stages are local processes; `kubernetes`: one pod per stage |
| TICKETTRAK_AIRFLOW_SCHEDULE | @daily | cron or preset; `none` = only manual/backfill runs |
| TICKETTRAK_AIRFLOW_START_DATE | 7 days ago | first logical date (YYYY-MM-DD) |
| TICKETTRAK_AIRFLOW_API | see below | `sandbox` or `real`: decides catchup |
| TICKETTRAK_AIRFLOW_CATCHUP | by API | `true`/`false` overrides the rule below |
| TICKETTRAK_AIRFLOW_CLI | <repo>/.venv/bin/tickettrak | local mode: the executable to run |
| TICKETTRAK_AIRFLOW_ROUTES | (collector's default) | routes YAML passed to `collect --routes` |
| TICKETTRAK_AIRFLOW_IMAGE_TAG | (required in kubernetes mode) | tag of every stage image, never `latest` |
| TICKETTRAK_AIRFLOW_IMAGE_REGISTRY | (none) | prefix for the image repositories, e.g. `registry.local:5000` |
| TICKETTRAK_AIRFLOW_IN_CLUSTER | true | kubernetes mode: use the pod's service account |
| TICKETTRAK_AIRFLOW_KUBECONFIG | (none) | kubernetes mode outside a cluster: kubeconfig path |
| TICKETTRAK_NAMES_FILE | <repo>/helm/tickettrak/names.yaml | the names shared with the Helm chart |

Catchup: a backfill against the sandbox builds a simulated history, so it is on; the real API
cannot show the past (the collector refuses a past logical date), so it is off. Without
TICKETTRAK_AIRFLOW_API the API is `real` when a token is in this process's environment (local
mode) and always `real` in kubernetes mode, where the token lives only in the Secret — the safe
default, because a wrong `sandbox` there would queue runs the collector must refuse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

DAGS_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = DAGS_DIR.parent
DEFAULT_NAMES_FILE = REPO_ROOT / "helm" / "tickettrak" / "names.yaml"
DEFAULT_CLI = REPO_ROOT / ".venv" / "bin" / "tickettrak"

Mode = Literal["local", "kubernetes"]
Api = Literal["sandbox", "real"]

_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class SecretKey:
    """One key of the stages' Secret and the environment variable it becomes in the pod."""

    env_var: str
    key: str


@dataclass(frozen=True)
class Names:
    """The Kubernetes names shared with the Helm chart (helm/tickettrak/names.yaml)."""

    namespace: str
    service_account: str
    config_map: str
    secret_name: str
    secret_keys: Mapping[str, SecretKey]  # by names.yaml's key id, e.g. "postgresDsn"
    images: Mapping[str, str]  # by names.yaml's image id, e.g. "dbtRunner"
    stage_labels: Mapping[str, str]  # podLabels.stage: what the chart's NetworkPolicies select


# names.yaml's secret key ids -> the settings variable each one fills (tickettrak.common.settings).
SECRET_ENV_VARS = {
    "aviasalesToken": "TICKETTRAK_AVIASALES_TOKEN",
    "postgresDsn": "TICKETTRAK_POSTGRES_DSN",
    "mongoUri": "TICKETTRAK_MONGO_URI",
}


@dataclass(frozen=True)
class PipelineConfig:
    mode: Mode
    schedule: str | None
    start_date: datetime
    api: Api
    catchup: bool
    cli: str
    routes: str | None
    image_tag: str | None
    image_registry: str | None
    in_cluster: bool
    kubeconfig: str | None
    names_file: Path


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: must be true or false, got {value!r}")


def _start_date(env: Mapping[str, str]) -> datetime:
    raw = env.get("TICKETTRAK_AIRFLOW_START_DATE", "").strip()
    if not raw:
        # Midnight-aligned, so every parse within a day yields the same DAG (a moving
        # `now()` would change the DAG on each parse).
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        return today - timedelta(days=7)
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ConfigError(f"TICKETTRAK_AIRFLOW_START_DATE: must be YYYY-MM-DD, got {raw!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _image_tag(env: Mapping[str, str], mode: str) -> str | None:
    tag = env.get("TICKETTRAK_AIRFLOW_IMAGE_TAG", "").strip() or None
    if mode != "kubernetes":
        return tag
    if tag is None:
        raise ConfigError("TICKETTRAK_AIRFLOW_IMAGE_TAG: required in kubernetes mode (e.g. the git SHA)")
    if tag in ("latest", "unset") or not _TAG.fullmatch(tag):
        # `latest` makes a pod's code depend on when a node last pulled; kind never re-pulls it.
        # `unset` is the Airflow image's default when built without --build-arg TICKETTRAK_IMAGE_TAG.
        raise ConfigError(f"TICKETTRAK_AIRFLOW_IMAGE_TAG: must be an explicit tag, not {tag!r}")
    return tag


def load_config(env: Mapping[str, str] | None = None) -> PipelineConfig:
    """The configuration from `env` (default: this process's environment)."""
    env = os.environ if env is None else env
    mode = _choice(env, "TICKETTRAK_AIRFLOW_MODE", ("local", "kubernetes"), "local")
    has_token = bool(env.get("TICKETTRAK_AVIASALES_TOKEN", "").strip())
    default_api = "real" if mode == "kubernetes" or has_token else "sandbox"
    api = _choice(env, "TICKETTRAK_AIRFLOW_API", ("sandbox", "real"), default_api)
    schedule = env.get("TICKETTRAK_AIRFLOW_SCHEDULE", "").strip() or "@daily"
    return PipelineConfig(
        mode=mode,  # type: ignore[arg-type]
        schedule=None if schedule.lower() == "none" else schedule,
        start_date=_start_date(env),
        api=api,  # type: ignore[arg-type]
        catchup=_flag(env, "TICKETTRAK_AIRFLOW_CATCHUP", default=api == "sandbox"),
        cli=env.get("TICKETTRAK_AIRFLOW_CLI", "").strip() or str(DEFAULT_CLI),
        routes=env.get("TICKETTRAK_AIRFLOW_ROUTES", "").strip() or None,
        image_tag=_image_tag(env, mode),
        image_registry=env.get("TICKETTRAK_AIRFLOW_IMAGE_REGISTRY", "").strip().rstrip("/") or None,
        in_cluster=_flag(env, "TICKETTRAK_AIRFLOW_IN_CLUSTER", default=True),
        kubeconfig=env.get("TICKETTRAK_AIRFLOW_KUBECONFIG", "").strip() or None,
        names_file=Path(env.get("TICKETTRAK_NAMES_FILE", "").strip() or DEFAULT_NAMES_FILE),
    )


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data or data[key] in (None, ""):
        raise ConfigError(f"{where}: missing '{key}'")
    return data[key]


def load_names(path: Path) -> Names:
    """Read names.yaml; a missing file or key is a ConfigError naming it."""
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"TICKETTRAK_NAMES_FILE: cannot read {path} ({error.strerror})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    secret = _require(data, "secret", str(path))
    keys = _require(secret, "keys", f"{path}: secret")
    unknown = set(keys) - set(SECRET_ENV_VARS)
    if unknown:
        raise ConfigError(f"{path}: secret.keys has ids this DAG does not map: {sorted(unknown)}")
    return Names(
        namespace=_require(data, "namespace", str(path)),
        service_account=_require(data, "serviceAccount", str(path)),
        config_map=_require(data, "configMap", str(path)),
        secret_name=_require(secret, "name", f"{path}: secret"),
        secret_keys={kid: SecretKey(SECRET_ENV_VARS[kid], str(key)) for kid, key in keys.items()},
        images=dict(_require(data, "images", str(path))),
        stage_labels={
            str(k): str(v)
            for k, v in _require(_require(data, "podLabels", str(path)), "stage", str(path)).items()
        },
    )
