"""A real server error (with psycopg's `CONTEXT:` line) gives a one-line reason."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tickettrak.loader.cli import one_line

pytestmark = [pytest.mark.integration]


def test_a_server_error_gives_its_primary_message(tmp_path: Path) -> None:
    from tickettrak.common.embedded.postgres import start_embedded

    server = start_embedded(tmp_path / "pg")
    try:
        with psycopg.connect(server.get_uri("postgres")) as conn, conn.cursor() as cur:
            cur.execute("CREATE TEMP TABLE t (d timestamptz)")
            with pytest.raises(psycopg.DataError) as raised, cur.copy("COPY t FROM STDIN") as copy:
                copy.write(b"2025-12-12 00:00:00+03\nnot a time\n")
        assert "CONTEXT" in str(raised.value)
        reason = one_line(raised.value)
        assert "\n" not in reason and "CONTEXT" not in reason
        assert reason.startswith("invalid input syntax for type timestamp with time zone")
    finally:
        server.cleanup()
