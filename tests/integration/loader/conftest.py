"""RAW stores for the loader tests: the embedded montydb and FerretDB (real MongoDB protocol).

`raw_store` is parametrised over both, so every loader test runs against each. FerretDB comes
from the shared `tests.fixtures.ferretdb` plugin when it is installed, else from a small local
starter (FerretDB v1, SQLite backend, free port, temp dir).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port

FERRETDB = shutil.which("ferretdb") or str(Path.home() / "go" / "bin" / "ferretdb")
_db_numbers = itertools.count(1)


@dataclass
class RawStore:
    kind: str  # "montydb" or "ferretdb"
    database: Any  # pymongo-style Database
    env: dict[str, str]  # what a `tickettrak load` subprocess needs to open the same database

    @property
    def collection(self) -> Any:
        return self.database["raw_exchanges"]


@pytest.fixture(scope="session")
def ferretdb_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(FERRETDB).exists():
        pytest.fail(f"FerretDB binary not found at {FERRETDB}: run `make tools`")
    state = tmp_path_factory.mktemp("ferretdb")
    (state / "data").mkdir()
    port = free_port()
    process = subprocess.Popen(
        [
            FERRETDB, "--handler=sqlite", f"--sqlite-url=file:{state / 'data'}/",
            f"--listen-addr=127.0.0.1:{port}", "--debug-addr=-", f"--state-dir={state}",
            "--telemetry=disable", "--log-level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(state / "ferretdb.log", "wb"),  # noqa: SIM115 (lives as long as the process)
    )  # fmt: skip
    uri = f"mongodb://127.0.0.1:{port}/"
    try:
        import pymongo

        deadline = time.monotonic() + 30
        while True:
            try:
                pymongo.MongoClient(uri, serverSelectionTimeoutMS=500).admin.command("ping")
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    log = (state / "ferretdb.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"FerretDB did not start: {log}")
                time.sleep(0.2)
        yield uri
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(params=["montydb", pytest.param("ferretdb", marks=pytest.mark.ferretdb)])
def raw_store(request: pytest.FixtureRequest, tt_env: Path) -> Iterator[RawStore]:
    if request.param == "montydb":
        from tickettrak.common.embedded.mongo import open_raw_database
        from tickettrak.common.settings import load_settings

        database = open_raw_database(load_settings())
        yield RawStore("montydb", database, {"TICKETTRAK_HOME": str(tt_env)})
        database.client.close()
        return
    import pymongo

    uri = request.getfixturevalue("ferretdb_uri")
    name = f"raw_{next(_db_numbers)}"
    client: Any = pymongo.MongoClient(uri, tz_aware=True)
    yield RawStore("ferretdb", client[name], {"TICKETTRAK_MONGO_URI": uri, "TICKETTRAK_MONGO_DATABASE": name})
    client.drop_database(name)
    client.close()
