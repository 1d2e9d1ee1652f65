"""`dbt parse` of the project (no database needed): every model, yml, test and unit test is valid,
and the project uses no dbt packages (`dbt deps` would need the internet)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickettrak.dbt_runner.profile import profile_from_dsn
from tickettrak.dbt_runner.project import project_dir
from tickettrak.dbt_runner.runner import DbtWorkspace, run_dbt

pytestmark = pytest.mark.slow


def test_project_parses_and_has_the_layers(tmp_path: Path) -> None:
    assert not (project_dir() / "packages.yml").exists()
    assert not (project_dir() / "dependencies.yml").exists()
    workspace = DbtWorkspace(tmp_path / "dbt")
    outcome = run_dbt(["parse"], profile_from_dsn("postgresql://u@localhost:1/none"), workspace)
    assert outcome.success, outcome.reason()

    manifest = json.loads((workspace.target_dir / "manifest.json").read_text())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    schemas = {name: node["schema"] for name, node in models.items()}
    assert {s for name, s in schemas.items() if name.startswith("stg_")} == {"ods"}
    assert {s for name, s in schemas.items() if name.startswith(("dim_", "fct_", "mart_"))} == {"dwh"}
    assert models["fct_price_observations"]["config"]["incremental_strategy"] == "delete+insert"
    unit_tests = [n for n in manifest["unit_tests"].values()]
    assert {t["model"] for t in unit_tests} >= {
        "int_daily_prices_relativized",
        "mart_best_time_to_buy",
        "mart_optimal_purchase_dates",
    }
    # Every source table declares how fresh it must be.
    for source in manifest["sources"].values():
        assert source["loaded_at_field"] == "loaded_at"
        assert source["freshness"]["error_after"]["count"]
