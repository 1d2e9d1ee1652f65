"""Where the dbt project is: inside the installed package (images), or next to the sources (repo).

The project lives in `jobs/dbt_runner/dbt/` so it reads like any dbt project; the wheel carries it
as `tickettrak/dbt_runner/project/` (hatch `force-include` in pyproject.toml), so an image needs
no checkout. An editable install (the workspace) finds it in the repository.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_INSTALLED = PACKAGE_DIR / "project"
_REPOSITORY = PACKAGE_DIR.parents[2] / "dbt"  # src/tickettrak/dbt_runner -> jobs/dbt_runner/dbt


class ProjectNotFoundError(RuntimeError):
    """Neither location holds a dbt_project.yml (a broken install)."""


def project_dir() -> Path:
    for candidate in (_INSTALLED, _REPOSITORY):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise ProjectNotFoundError(f"no dbt_project.yml in {_INSTALLED} or {_REPOSITORY}")
