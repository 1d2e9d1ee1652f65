"""The RAW document store: a real MongoDB through pymongo, or the embedded montydb.

Both are driven through the same pymongo-style calls, so the proxy and the loader have one code
path. montydb keeps its data in SQLite files under `$TICKETTRAK_HOME/raw`; SQLite's file locking
lets the proxy write while the loader reads from another process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tickettrak.common.settings import Settings


class RawStoreConfigError(RuntimeError):
    """The RAW store cannot be opened; the message names the setting or the missing package."""


def embedded_raw_dir(settings: Settings) -> Path:
    return settings.home_dir / "raw"


def open_raw_database(settings: Settings, *, server_selection_timeout_ms: int = 5000) -> Any:
    """The RAW database handle (`pymongo.database.Database` or montydb's equivalent)."""
    if settings.mongo_uri is not None:
        import pymongo

        client: Any = pymongo.MongoClient(
            settings.mongo_uri.get_secret_value(),
            serverSelectionTimeoutMS=server_selection_timeout_ms,
            tz_aware=True,
            appname="tickettrak",
        )
        return client[settings.mongo_database]
    try:
        from montydb import MontyClient, set_storage
    except ImportError as error:
        raise RawStoreConfigError(
            "TICKETTRAK_MONGO_URI is not set and the embedded RAW store (montydb) is not installed"
        ) from error
    path = embedded_raw_dir(settings)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "monty.storage.cfg").exists():
        set_storage(str(path), storage="sqlite", use_bson=True)
    # tz_aware like the pymongo client above: both backends give back UTC-aware datetimes.
    return MontyClient(str(path), tz_aware=True)[settings.mongo_database]


def is_embedded(settings: Settings) -> bool:
    return settings.mongo_uri is None
