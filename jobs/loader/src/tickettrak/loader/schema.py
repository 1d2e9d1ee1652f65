"""Versioned SQL migrations (`migrations/NNNN_name.sql`), applied once each and recorded.

Safe to run twice or from two processes at once: everything happens in one transaction that first
takes a transaction-scoped advisory lock, so a second runner waits and then finds nothing to do.
A migration whose file changed after it was applied is an error (the database and the code
disagree about the schema), never silently re-run.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

MIGRATIONS_LOCK = 0x7474_6D69_6772  # "ttmigr": advisory lock key shared by every loader
_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database's recorded migrations do not match this loader's files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available() -> list[Migration]:
    found = []
    for entry in resources.files("tickettrak.loader.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(conn: psycopg.Connection) -> list[int]:
    """Apply the missing migrations; returns the versions applied now."""
    applied_now: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATIONS_LOCK,))
        conn.execute("CREATE SCHEMA IF NOT EXISTS aviasales")
        conn.execute(
            """CREATE TABLE IF NOT EXISTS aviasales.schema_migrations (
                   version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        recorded: dict[int, str] = dict(
            conn.execute("SELECT version, checksum FROM aviasales.schema_migrations").fetchall()
        )
        for migration in available():
            if migration.version in recorded:
                if recorded[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name}.sql changed after it was applied"
                    )
                continue
            conn.execute(migration.sql.encode())
            conn.execute(
                "INSERT INTO aviasales.schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (migration.version, migration.name, migration.checksum),
            )
            applied_now.append(migration.version)
    return applied_now
