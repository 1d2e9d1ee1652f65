"""The images: one Dockerfile per stage, what each installs and runs, hadolint-clean, and the
Makefile's image list agreeing with the chart's names.yaml."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.unit.k8s.conftest import REPO, load_names, tool

NAMES = load_names()

# names.yaml image id -> (Dockerfile, the uv workspace member it installs, the tickettrak subcommand)
STAGE_IMAGES = {
    "proxy": ("proxy/Dockerfile", "proxy", "proxy"),
    "collector": ("jobs/collector/Dockerfile", "jobs/collector", "collect"),
    "loader": ("jobs/loader/Dockerfile", "jobs/loader", "load"),
    "dbtRunner": ("jobs/dbt_runner/Dockerfile", "jobs/dbt_runner", "transform"),
    "report": ("jobs/report/Dockerfile", "jobs/report", "report"),
    "sandbox": ("deploy/sandbox/Dockerfile", "sandbox", "sandbox"),
}
AIRFLOW_DOCKERFILE = "deploy/airflow/Dockerfile"
DOCKERFILES = [spec[0] for spec in STAGE_IMAGES.values()] + [AIRFLOW_DOCKERFILE]


def _makefile_images() -> dict[str, tuple[str, str]]:
    """mk/k8s.mk's IMAGES: name -> (repository, Dockerfile)."""
    text = (REPO / "mk" / "k8s.mk").read_text()
    block = re.search(r"^IMAGES := \\\n((?:  .*\n)+)", text, re.M)
    assert block, "IMAGES not found in mk/k8s.mk"
    entries = [line.strip().rstrip("\\").strip() for line in block.group(1).splitlines()]
    return {name: (repo, dockerfile) for name, repo, dockerfile in (e.split("=") for e in entries)}


def test_makefile_builds_exactly_the_images_names_yaml_lists() -> None:
    built = {repo: dockerfile for repo, dockerfile in _makefile_images().values()}
    assert set(built) == set(NAMES["images"].values())
    for image_id, (dockerfile, _, _) in STAGE_IMAGES.items():
        assert built[NAMES["images"][image_id]] == dockerfile
    assert built[NAMES["images"]["airflow"]] == AIRFLOW_DOCKERFILE


def _member(member_dir: str) -> dict[str, object]:
    project: dict[str, object] = tomllib.loads((REPO / member_dir / "pyproject.toml").read_text())["project"]
    return project


@pytest.mark.parametrize("image_id", sorted(STAGE_IMAGES))
def test_stage_image_installs_its_member_from_the_lock_and_runs_its_command(image_id: str) -> None:
    dockerfile, member_dir, command = STAGE_IMAGES[image_id]
    text = (REPO / dockerfile).read_text()
    member = _member(member_dir)
    commands = member["entry-points"]["tickettrak.commands"]  # type: ignore[index]
    assert command in commands, f"{member_dir} does not register `tickettrak {command}`"
    package = member["name"]
    syncs = re.findall(r"uv sync (.+)", text)
    assert len(syncs) == 2, "two uv syncs: dependencies first (cached layer), then the member"
    for sync in syncs:
        assert f"--package {package}" in sync and "--frozen" in sync and "--no-dev" in sync
    assert "--no-install-workspace" in syncs[0] and "--no-editable" in syncs[1]
    assert "embedded" not in "".join(syncs) and "--all-extras" not in text
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages[-1].startswith("python:3.12-slim"), "the runtime stage is a slim Python 3.12"
    final = text.split(f"FROM {stages[-1]}\n")[-1]
    assert "uv" not in re.findall(r"COPY --from=(\S+)", final), "no uv in the final image"
    assert re.search(r"^COPY --from=builder .*/app/\.venv /app/\.venv$", final, re.M)
    assert not re.search(r"apt-get|gcc|build-essential", final)
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1].split(":")[0] not in ("0", "root"), "the final image runs as non-root"
    assert 'ENTRYPOINT ["tickettrak"]' in final
    assert re.search(rf'^CMD \["{command}"', final, re.M)
    assert re.search(r"^# Expected size: ~\d+ MB", text, re.M), "state the expected image size"


@pytest.mark.parametrize("image_id", sorted(STAGE_IMAGES))
def test_locked_dependencies_of_an_image_leave_out_the_laptop_extras(image_id: str) -> None:
    uv = shutil.which("uv") or str(REPO / ".venv" / "bin" / "uv")
    package = _member(STAGE_IMAGES[image_id][1])["name"]
    done = subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--package", str(package)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    pinned = {line.split("==")[0].lower() for line in done.stdout.splitlines() if "==" in line}
    assert pinned, "uv export listed nothing"
    assert not pinned & {"pgserver", "montydb", "pytest", "ruff", "mypy"}, pinned


def test_airflow_image_matches_the_dag_pins_and_bakes_the_names() -> None:
    text = (REPO / AIRFLOW_DOCKERFILE).read_text()
    pins = dict(
        line.split("==")
        for line in (REPO / "dags" / "requirements-airflow.in").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert f"ARG AIRFLOW_VERSION={pins['apache-airflow']}" in text
    assert f"ARG CNCF_KUBERNETES_PROVIDER_VERSION={pins['apache-airflow-providers-cncf-kubernetes']}" in text
    assert "COPY --chown=root:root helm/tickettrak/names.yaml /opt/airflow/helm/tickettrak/names.yaml" in text
    assert "TICKETTRAK_NAMES_FILE=/opt/airflow/helm/tickettrak/names.yaml" in text
    assert re.search(r"^USER 50000$", text, re.M)
    dockerignore = (REPO / ".dockerignore").read_text().splitlines()
    assert (
        "!helm/tickettrak/names.yaml" in dockerignore and ".git" in dockerignore and ".venv" in dockerignore
    )


def _hadolint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("hadolint"), *map(str, paths)], capture_output=True, text=True, timeout=60)


def test_every_dockerfile_is_hadolint_clean() -> None:
    done = _hadolint(*(REPO / d for d in DOCKERFILES))
    assert done.returncode == 0, done.stdout + done.stderr
    for dockerfile in DOCKERFILES:
        for line in (REPO / dockerfile).read_text().splitlines():
            if "hadolint ignore=" in line:
                reason = line.split("hadolint ignore=", 1)[1].split(maxsplit=1)
                assert len(reason) == 2 and len(reason[1]) > 10, f"{dockerfile}: justify `{line.strip()}`"


def test_hadolint_catches_a_careless_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    done = _hadolint(bad)
    assert done.returncode != 0
    assert "DL3007" in done.stdout and "DL3008" in done.stdout


def test_airflow_dockerfile_documents_a_build_that_bakes_the_stage_image_tag() -> None:
    """The header's manual build command passes the same tag to the image and to the DAG, like
    `make images`: without the build-arg the DAG would launch `tickettrak/<stage>:unset`."""
    header = (REPO / AIRFLOW_DOCKERFILE).read_text().split("\nARG ", 1)[0]
    builds = [line for line in header.splitlines() if "docker build" in line]
    assert builds, f"{AIRFLOW_DOCKERFILE}: the header shows no `docker build` command"
    for line in builds:
        tag = re.search(r"-t tickettrak/airflow:(\S+)", line)
        build_arg = re.search(r"--build-arg TICKETTRAK_IMAGE_TAG=(\S+)", line)
        assert tag and build_arg, (
            f"{AIRFLOW_DOCKERFILE}: {line.strip()!r} must tag the image and pass the tag"
        )
        assert tag.group(1) == build_arg.group(1), line
