"""The marts' yml (dbt contracts) matches the contract table in ARCHITECTURE.md, column for column.

The report and users rely on the names, keys and columns in ARCHITECTURE.md; dbt enforces the yml
at build time. This test ties the two together without a database.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tickettrak.dbt_runner.project import project_dir

REPO = Path(__file__).resolve().parents[3]
MARTS = (
    "mart_avg_price_by_route",
    "mart_price_dynamics",
    "mart_best_time_to_buy",
    "mart_best_weekday_to_buy",
    "mart_optimal_purchase_dates",
)


def _architecture_contract() -> dict[str, list[str]]:
    """{mart: [every column named in its row of the table]} from ARCHITECTURE.md."""
    text = (REPO / "ARCHITECTURE.md").read_text()
    contract = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`dwh\.(mart_\w+)`\s*\|(.*)\|(.*)\|\s*$", line)
        if match:
            cells = match.group(2) + "," + match.group(3)
            cells = re.sub(r"\([^)]*\)", "", cells)  # drop the explanations in parentheses
            contract[match.group(1)] = [c.strip() for c in cells.split(",") if c.strip()]
    return contract


def _mart_models() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((project_dir() / "models" / "marts" / "_marts__models.yml").read_text())
    return {model["name"]: model for model in document["models"]}


def test_every_contract_mart_exists_with_every_contract_column_typed() -> None:
    contract = _architecture_contract()
    assert set(contract) == set(MARTS)
    models = _mart_models()
    for mart, columns in contract.items():
        model = models[mart]
        assert model["config"]["contract"]["enforced"] is True, mart
        declared = {column["name"]: column for column in model["columns"]}
        missing = [c for c in columns if c not in declared]
        assert not missing, f"{mart} lacks contract columns {missing}"
        untyped = [name for name, column in declared.items() if not column.get("data_type")]
        assert not untyped, f"{mart}: columns without data_type {untyped}"
        assert (project_dir() / "models" / "marts" / f"{mart}.sql").is_file()


def test_every_mart_key_is_tested_unique() -> None:
    contract = _architecture_contract()
    models = _mart_models()
    for mart in MARTS:
        uniques = [
            test["unique"]["arguments"]["column_name"]
            for test in models[mart].get("data_tests", [])
            if isinstance(test, dict) and "unique" in test
        ]
        assert len(uniques) == 1, mart
        key_columns = [part.strip() for part in uniques[0].split("|| '|' ||")]
        # The key is the first columns of the contract row, in order.
        assert key_columns == contract[mart][: len(key_columns)], mart
