"""One task factory, two execution modes: a stage is a local process or a Kubernetes pod.

Both run `tickettrak <stage args>` with the run's logical date, so what a pod does, a laptop
does too. The operator modules are imported inside the branch that needs them: a laptop never
loads the Kubernetes client, and parsing stays fast.
"""

from __future__ import annotations

import shlex
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from tickettrak_airflow.config import Names, PipelineConfig, load_names
from tickettrak_airflow.stages import LOGICAL_DATE, RUN_ID, Stage

# Every task: retried twice with growing waits (1 min, 2 min, ...) — enough to ride out a
# restarting proxy or database without hammering it.
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "tickettrak",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
}

# Every stage learns its run from these too (the CLI flags carry them where a stage takes them),
# so logs and any stage can name the logical date without parsing arguments.
RUN_ENV = {"TICKETTRAK_LOGICAL_DATE": LOGICAL_DATE, "TICKETTRAK_RUN_ID": RUN_ID}

# A stage pod's root filesystem is read-only; its one writable place is an emptyDir at /tmp. The
# stage images (jobs/*/Dockerfile) put everything a run writes under it: WORKDIR /tmp, the user's
# HOME and TICKETTRAK_HOME (/tmp/tickettrak: dbt's profiles.yml, target/ and logs/ via
# DBT_TARGET_PATH/DBT_LOG_PATH, the report's files), and Python writes no bytecode
# (PYTHONDONTWRITEBYTECODE; the venv is compiled at build time). dbt's packages are installed
# into the image at build time, so nothing is written next to the project.
SCRATCH_VOLUME = "scratch"
SCRATCH_DIR = "/tmp"  # noqa: S108 (a path inside the pod, on its own emptyDir)
# A cap, not a reservation: dbt's target/ (manifest, compiled SQL) is the largest writer, a few MB.
SCRATCH_SIZE_LIMIT = "1Gi"


def stage_args(stage: Stage, config: PipelineConfig) -> list[str]:
    """The `tickettrak` arguments of a stage in this configuration."""
    args = list(stage.args)
    if stage.task_id == "collect" and config.routes:
        args += ["--routes", config.routes]
    return args


def stage_task(stage: Stage, config: PipelineConfig) -> Any:
    """The operator that runs `stage` in the configured mode (call inside a DAG context)."""
    if config.mode == "kubernetes":
        return _pod_task(stage, config, _names(config.names_file))
    return _local_task(stage, config)


def _local_task(stage: Stage, config: PipelineConfig) -> Any:
    from airflow.providers.standard.operators.bash import BashOperator

    # The run id and date arrive through the environment, not spliced into the script: a
    # manually named run id is user text, and quoting it into bash would be an injection.
    words = [shlex.quote(config.cli)]
    for arg in stage_args(stage, config):
        if arg == LOGICAL_DATE:
            words.append('"$TICKETTRAK_LOGICAL_DATE"')
        elif arg == RUN_ID:
            words.append('"$TICKETTRAK_RUN_ID"')
        else:
            words.append(shlex.quote(arg))
    return BashOperator(
        task_id=stage.task_id,
        bash_command="exec " + " ".join(words),
        env=dict(RUN_ENV),
        append_env=True,  # the stages inherit TICKETTRAK_* (home, DSN, proxy URL) from Airflow
        do_xcom_push=False,  # a stage's last output line is for the log, not the metadata DB
        execution_timeout=stage.timeout,
        doc_md=stage.doc,
    )


@lru_cache(maxsize=4)
def _names(path: Path) -> Names:
    return load_names(path)


def image_for(stage: Stage, config: PipelineConfig, names: Names) -> str:
    repository = names.images.get(stage.image)
    if not repository:
        raise KeyError(f"{config.names_file}: no image '{stage.image}' under images:")
    if config.image_registry:
        repository = f"{config.image_registry}/{repository}"
    return f"{repository}:{config.image_tag}"


def _pod_task(stage: Stage, config: PipelineConfig, names: Names) -> Any:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.providers.cncf.kubernetes.secret import Secret
    from kubernetes.client import models as k8s

    secrets = [
        Secret(
            deploy_type="env",
            deploy_target=names.secret_keys[kid].env_var,
            secret=names.secret_name,
            key=names.secret_keys[kid].key,
        )
        for kid in stage.secret_keys
    ]
    res = stage.resources
    return KubernetesPodOperator(
        task_id=stage.task_id,
        name=f"tickettrak-{stage.task_id.replace('_', '-')}",
        namespace=names.namespace,
        service_account_name=names.service_account,
        image=image_for(stage, config, names),
        image_pull_policy="IfNotPresent",
        cmds=["tickettrak"],
        arguments=stage_args(stage, config),
        env_vars=dict(RUN_ENV),
        env_from=[k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=names.config_map))],
        secrets=secrets,
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": res.cpu_request, "memory": res.memory_request},
            limits={"cpu": res.cpu_limit, "memory": res.memory_limit},
        ),
        labels={
            **names.stage_labels,  # without them the NetworkPolicies keep the pod off the databases
            "app.kubernetes.io/name": names.images[stage.image].rsplit("/", 1)[-1],
            "app.kubernetes.io/component": stage.task_id,
        },
        # Stage images run as a numeric non-root USER; nothing in a stage needs privileges.
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True, seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault")
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
            read_only_root_filesystem=True,
        ),
        volumes=[
            k8s.V1Volume(
                name=SCRATCH_VOLUME,
                empty_dir=k8s.V1EmptyDirVolumeSource(size_limit=SCRATCH_SIZE_LIMIT),
            )
        ],
        volume_mounts=[k8s.V1VolumeMount(name=SCRATCH_VOLUME, mount_path=SCRATCH_DIR)],
        in_cluster=config.in_cluster and config.kubeconfig is None,
        config_file=config.kubeconfig,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
        # The stage writes its failure reason to /dev/termination-log (tickettrak.common.cli.fail);
        # the operator puts it in the task's error. A crash before that falls back to the log tail.
        termination_message_policy="FallbackToLogsOnError",
        startup_timeout_seconds=300,
        execution_timeout=stage.timeout,
        # The pod dies with the task: Kubernetes enforces the same deadline even if Airflow is gone.
        active_deadline_seconds=int(stage.timeout.total_seconds()),
        doc_md=stage.doc,
    )
