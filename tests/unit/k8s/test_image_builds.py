"""Replay each stage Dockerfile's builder stage without Docker: the same COPYs into a scratch
context, the same `uv sync` commands against the real uv.lock, then run the `tickettrak` the image
would contain. Proves the recipe installs the member with its subcommand and without the laptop
extras. (The interpreter is this machine's Python instead of the image's 3.12: same lock, same
resolution; the uv cache filled by `make venv` keeps this fast.)"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.unit.k8s.conftest import REPO
from tests.unit.k8s.test_images import STAGE_IMAGES


def _builder_steps(dockerfile: str) -> list[str]:
    text = (REPO / dockerfile).read_text().replace("\\\n", " ")
    builder = text.split(" AS builder\n", 1)[1].split("\nFROM ", 1)[0]
    return [line.strip() for line in builder.splitlines() if line.strip() and not line.startswith("#")]


def _replay(dockerfile: str, root: Path) -> Path:
    """Run the builder stage's COPY/ENV/uv steps with / mapped to `root`; returns the venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    workdir = root
    uv = shutil.which("uv") or str(REPO / ".venv" / "bin" / "uv")
    for step in _builder_steps(dockerfile):
        instruction, _, rest = step.partition(" ")
        if instruction == "WORKDIR":
            workdir = root / rest.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "ENV":
            for pair in shlex.split(rest):
                key, value = pair.split("=", 1)
                env[key] = value
        elif instruction == "COPY" and not rest.startswith("--from"):
            *sources, target = shlex.split(rest)
            for source in sources:
                dest = workdir / target
                if (REPO / source).is_dir():
                    shutil.copytree(
                        REPO / source,
                        dest,
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "target", "dbt_packages", "logs"),
                    )
                else:
                    dest.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(REPO / source, dest / Path(source).name)
        elif instruction == "RUN" and "uv sync" in rest:
            command = shlex.split(re.sub(r"--mount=\S+", "", rest))
            assert command[0] == "uv"
            env["UV_PROJECT_ENVIRONMENT"] = str(root / env["UV_PROJECT_ENVIRONMENT"].lstrip("/"))
            env["UV_PYTHON"] = shutil.which("python3") or "python3"
            env["UV_COMPILE_BYTECODE"] = "0"  # the image compiles bytecode; here it only costs time
            env["UV_LINK_MODE"] = "hardlink"  # ...and copies files (for its COPY --from); here: link
            done = subprocess.run(
                [uv, *command[1:]], cwd=workdir, env=env, capture_output=True, text=True, timeout=300
            )
            assert done.returncode == 0, f"{dockerfile}: `{' '.join(command)}` failed:\n{done.stderr[-3000:]}"
    return Path(env["UV_PROJECT_ENVIRONMENT"])


@pytest.mark.slow
@pytest.mark.parametrize("image_id", ["proxy", "dbtRunner"])
def test_builder_stage_installs_the_stage_and_nothing_else(image_id: str, tmp_path: Path) -> None:
    dockerfile, _, command = STAGE_IMAGES[image_id]
    venv = _replay(dockerfile, tmp_path)
    site = next(venv.glob("lib/python3*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert not installed & {"pgserver", "montydb", "pytest", "ruff", "mypy"}
    # Installed as wheels, not editable links back to the sources the final image does not have.
    assert not list(site.glob("*.pth")) or all("/src" not in p.read_text() for p in site.glob("*.pth"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TICKETTRAK_")}
    done = subprocess.run(
        [str(venv / "bin" / "tickettrak"), command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    if image_id == "dbtRunner":
        # The dbt project travels inside the wheel, where the image's `dbt deps` step looks for it.
        project = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "from tickettrak.dbt_runner.project import project_dir; print(project_dir())",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
        assert project.returncode == 0, project.stderr
        assert (
            "site-packages" in project.stdout and (Path(project.stdout.strip()) / "dbt_project.yml").is_file()
        )
