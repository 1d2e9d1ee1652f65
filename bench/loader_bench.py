"""Loader benchmark: `tickettrak load` vs row-by-row INSERT vs dlt vs a bare COPY, side by side.

For each size (tickets: 10k, 100k, 1M by default) one RAW set is generated into the embedded RAW
store (montydb, 20 offers per prices_for_dates document, shaped like the recorded MOW->DXB
bodies), then each contestant loads it into its own fresh database on one embedded PostgreSQL 16,
in its own process (peak RSS = that process's ru_maxrss plus its largest child's, e.g. the loader's worker):

- loader:     tickettrak.loader.run_load (RAW read in the process, decoded, parsed and encoded in its
              worker process, binary COPY straight into request_logs — the whole RAW document as
              jsonb — and tickets, quarantine and watermark in the same transaction);
- row_by_row: the same parser, then one INSERT statement per request_logs row and per ticket
              (ON CONFLICT DO NOTHING), one transaction per batch — the naive loader;
- dlt:        dlt (from a throwaway venv, never a project dependency) loading the RAW documents
              as a user would: one resource yielding the documents, dlt normalises the nested
              offers into a child table and loads PostgreSQL (its default insert_values format);
- bare_copy:  the physical limit: the loader's own ticket rows prepared in a COPY text file
              beforehand (untimed), then one COPY into a table shaped like aviasales.tickets
              (same primary key, checks and indexes; no foreign key);
- bare_copy_all: the physical limit of the loader's whole output: its own request_logs rows and
              ticket rows prepared in two COPY text files, then one COPY each into the real
              aviasales tables (request_logs with the RAW jsonb, tickets with the foreign key).
              rows/s still counts ticket rows, so the loader's ratio to it is comparable.

Every contestant reads RAW through the same streaming reader, so the comparison is about loading.
rows/s counts ticket rows. Sizes a contestant cannot finish within --time-cap seconds (estimated
from the previous size) are skipped and reported as such.

    .venv/bin/python bench/loader_bench.py                          # 10k, 100k, 1M
    .venv/bin/python bench/loader_bench.py --sizes 10000,100000 --json /tmp/loader-bench.json
    DLT_PYTHON=/tmp/dlt-venv/bin/python .venv/bin/python bench/loader_bench.py   # where dlt is
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OFFERS_PER_DOC = 20
BATCH_SIZE = 500
CONTESTANTS = ("loader", "row_by_row", "dlt", "bare_copy", "bare_copy_all")


# ------------------------------------------------------------------ worker side (one process each)


def _open_raw(raw_dir: Path) -> Any:
    from montydb import MontyClient

    return MontyClient(str(raw_dir))["tickettrak"]


def _work_loader(raw_dir: Path, dsn: str, _: Path) -> int:
    from tickettrak.loader.loader import run_load

    raw = _open_raw(raw_dir)
    started = time.monotonic()  # imports and process start are not loading: every contestant skips them
    summary = run_load(dsn, raw, batch_size=BATCH_SIZE)
    os.environ["BENCH_TIMED_S"] = str(time.monotonic() - started)
    return summary.tickets_inserted + summary.tickets_updated


def _work_row_by_row(raw_dir: Path, dsn: str, _: Path) -> int:
    import psycopg

    from tickettrak.common.raw_store import RawStore
    from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS, parse_document
    from tickettrak.loader.schema import migrate

    def cols(names: tuple[str, ...]) -> str:
        return ", ".join(f'"{n}"' for n in names)

    def marks(names: tuple[str, ...]) -> str:
        return ", ".join(["%s"] * len(names))

    insert_log = (
        f"INSERT INTO aviasales.request_logs ({cols(REQUEST_LOG_COLUMNS)})"  # noqa: S608 (own names)
        f" VALUES ({marks(REQUEST_LOG_COLUMNS)}) ON CONFLICT DO NOTHING"
    )
    insert_ticket = (
        f"INSERT INTO aviasales.tickets ({cols(TICKET_COLUMNS)})"  # noqa: S608 (own names)
        f" VALUES ({marks(TICKET_COLUMNS)}) ON CONFLICT DO NOTHING"
    )
    rows = 0
    raw = _open_raw(raw_dir)
    started = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        for batch in RawStore(raw).read_batches(0, BATCH_SIZE):
            with conn.transaction():
                for doc in batch:
                    parsed = parse_document(doc)
                    conn.execute(insert_log, parsed.request_log)
                    for ticket in parsed.tickets:
                        conn.execute(insert_ticket, ticket)
                        rows += 1
    os.environ["BENCH_TIMED_S"] = str(time.monotonic() - started)
    return rows


def _work_bare_copy(_: Path, dsn: str, prepared: Path) -> int:
    import psycopg

    from tickettrak.loader.parse import TICKET_COLUMNS
    from tickettrak.loader.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        conn.execute("CREATE TABLE bench_tickets (LIKE aviasales.tickets INCLUDING ALL)")
        started = time.monotonic()
        _copy_file(conn, "bench_tickets", TICKET_COLUMNS, prepared)
        os.environ["BENCH_TIMED_S"] = str(time.monotonic() - started)  # the file read+COPY only
        row = conn.execute("SELECT count(*) FROM bench_tickets").fetchone()
        return int(row[0]) if row else 0


def _work_bare_copy_all(_: Path, dsn: str, prepared: Path) -> int:
    import psycopg

    from tickettrak.loader.parse import REQUEST_LOG_COLUMNS, TICKET_COLUMNS
    from tickettrak.loader.schema import migrate

    with psycopg.connect(dsn, autocommit=True) as conn:
        migrate(conn)
        started = time.monotonic()
        _copy_file(conn, "aviasales.request_logs", REQUEST_LOG_COLUMNS, _logs_file(prepared))
        _copy_file(conn, "aviasales.tickets", TICKET_COLUMNS, prepared)
        os.environ["BENCH_TIMED_S"] = str(time.monotonic() - started)
        row = conn.execute("SELECT count(*) FROM aviasales.tickets").fetchone()
        return int(row[0]) if row else 0


def _copy_file(conn: Any, table: str, columns: tuple[str, ...], path: Path) -> None:
    """One COPY (text format) of a prepared file into the table, read in 1 MiB chunks."""
    names = ", ".join(f'"{c}"' for c in columns)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy, path.open("rb") as f:
        while chunk := f.read(1 << 20):
            copy.write(chunk)


def _logs_file(tickets_file: Path) -> Path:
    return tickets_file.with_suffix(".logs.copy")


def _work_dlt(raw_dir: Path, dsn: str, scratch: Path) -> int:
    import dlt

    from tickettrak.common.raw_store import RawStore

    def documents() -> Any:
        for batch in RawStore(_open_raw(raw_dir)).read_batches(0, BATCH_SIZE):
            for doc in batch:
                doc["_id"] = str(doc["_id"])  # what dlt's MongoDB source does with ObjectIds
                yield doc

    # dlt wants user, password and host in the URL; pgserver gives a unix-socket URI without a
    # password (trust auth): keep the socket as libpq's `host` query parameter.
    socket_dir = dsn.split("host=", 1)[1] if "host=" in dsn else ""
    database = dsn.split("/")[3].split("?")[0]
    dlt_dsn = f"postgresql://postgres:unused@localhost/{database}" + (
        f"?host={socket_dir}" if socket_dir else ""
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_raw",
        destination=dlt.destinations.postgres(credentials=dlt_dsn),
        dataset_name="dlt_raw",
        pipelines_dir=str(scratch / "dlt-pipelines"),
    )
    started = time.monotonic()
    pipeline.run(dlt.resource(documents, name="raw_exchanges", write_disposition="append"))
    os.environ["BENCH_TIMED_S"] = str(time.monotonic() - started)
    import psycopg

    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM dlt_raw.raw_exchanges__response__body__data").fetchone()
        return int(row[0]) if row else 0


def worker(args: argparse.Namespace) -> None:
    work = {
        "loader": _work_loader,
        "row_by_row": _work_row_by_row,
        "bare_copy": _work_bare_copy,
        "bare_copy_all": _work_bare_copy_all,
        "dlt": _work_dlt,
    }
    started = time.monotonic()
    rows = work[args.worker](Path(args.raw_dir), args.dsn, Path(args.extra))
    seconds = float(os.environ.get("BENCH_TIMED_S") or (time.monotonic() - started))
    import resource

    # Linux: KiB. The contestant's own peak plus the largest child's (the loader's encode worker,
    # dlt's normalizers): an upper bound, the two peaks need not coincide.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": round(own + children, 1)}))


# ------------------------------------------------------------------ driver


def _prepare_raw(raw_dir: Path, tickets: int, copy_file: Path | None) -> int:
    """Generate the RAW set (and, if asked, the bare-COPY file from the loader's own rows, which
    costs a parse of every document: skipped when bare_copy does not run); returns documents."""
    from montydb import MontyClient, set_storage

    # bulk_insert_montydb writes montydb's own rows without its quadratic insert_many (see there).
    from tests.fixtures.raw_docs import bulk_insert_montydb, generated_documents
    from tickettrak.loader.copy_text import encode_rows
    from tickettrak.loader.parse import parse_document

    set_storage(str(raw_dir), storage="sqlite", use_bson=True)
    collection = MontyClient(str(raw_dir))["tickettrak"]["raw_exchanges"]
    documents = max(1, tickets // OFFERS_PER_DOC)
    if copy_file is None:
        bulk_insert_montydb(collection, generated_documents(documents, OFFERS_PER_DOC))
        return documents
    with copy_file.open("wb") as out, _logs_file(copy_file).open("wb") as logs:

        def tee() -> Any:
            for doc in generated_documents(documents, OFFERS_PER_DOC):
                parsed = parse_document(doc)
                out.write(encode_rows(parsed.tickets))
                logs.write(encode_rows([parsed.request_log]))
                yield doc

        bulk_insert_montydb(collection, tee())
    return documents


def _run_contestant(name: str, raw_dir: Path, dsn: str, extra: Path) -> dict[str, Any]:
    python = sys.executable
    if name == "dlt":
        python = os.environ.get("DLT_PYTHON", "/tmp/dlt-venv/bin/python")  # noqa: S108 (a throwaway venv)
        if not Path(python).exists():
            return {"skipped": f"dlt not installed at {python} (see the module docstring)"}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *_our_paths()])}
    cmd = [python, __file__, "--worker", name, "--raw-dir", str(raw_dir), "--dsn", dsn, "--extra", str(extra)]
    done = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if done.returncode != 0:
        return {"failed": done.stderr.decode(errors="replace")[-3000:]}
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _our_paths() -> list[str]:
    """The workspace's site-packages and sources, appended after dlt's venv's own packages."""
    import site

    paths = [p for p in site.getsitepackages() if "site-packages" in p]
    for member in ("libs/common", "jobs/loader"):
        paths.append(str(REPO / member / "src"))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ticket counts, comma-separated")
    parser.add_argument(
        "--contestants",
        default=",".join(CONTESTANTS),
        help="comma-separated; repeat names (loader,bare_copy,loader,bare_copy) for medians",
    )
    parser.add_argument(
        "--time-cap", type=float, default=900.0, help="skip a run estimated to exceed this (s)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--raw-dir", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--extra", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    sys.path.insert(0, str(REPO))
    import signal

    # A stopped bench (timeout, kill) still runs its `finally`: the embedded server and temp dir go.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import psycopg

    from tickettrak.common.embedded.postgres import start_embedded

    root = Path(tempfile.mkdtemp(prefix="tt-loader-bench-"))
    server = start_embedded(root / "pg")
    admin = server.get_uri("postgres")
    results: list[dict[str, Any]] = []
    last_rate: dict[str, float] = {}
    try:
        for size in [int(s) for s in args.sizes.split(",")]:
            raw_dir, copy_file = root / f"raw-{size}", root / f"tickets-{size}.copy"
            began = time.monotonic()
            wanted = args.contestants.split(",")
            bare = any(name.startswith("bare_copy") for name in wanted)
            documents = _prepare_raw(raw_dir, size, copy_file if bare else None)
            took = time.monotonic() - began
            print(f"# {size:,} tickets: {documents:,} RAW documents generated in {took:.0f} s", flush=True)
            for name in args.contestants.split(","):
                row: dict[str, Any]
                if name in last_rate and size / last_rate[name] > args.time_cap:
                    estimate = size / last_rate[name]
                    row = {"skipped": f"estimated {estimate:.0f} s > --time-cap {args.time_cap:.0f} s"}
                else:
                    database = f"bench_{name}_{size}"
                    with psycopg.connect(admin, autocommit=True) as conn:
                        conn.execute(f'CREATE DATABASE "{database}"')
                    dsn = server.get_uri(database)
                    extra = copy_file if name.startswith("bare_copy") else root
                    row = _run_contestant(name, raw_dir, dsn, extra)
                    with psycopg.connect(admin, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
                if "rows" in row:
                    row["rows_per_s"] = round(row["rows"] / row["seconds"]) if row["seconds"] else None
                    last_rate[name] = row["rows_per_s"] or 1.0
                row.update(contestant=name, size=size)
                results.append(row)
                print(json.dumps(row)[:400], flush=True)
            shutil.rmtree(raw_dir, ignore_errors=True)
            copy_file.unlink(missing_ok=True)
            _logs_file(copy_file).unlink(missing_ok=True)
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    _print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


_RATIOS = "vs COPY tickets | vs COPY all | vs dlt |"  # the ratio columns of both tables


def _print_table(results: list[dict[str, Any]]) -> None:
    sizes = sorted({r["size"] for r in results})
    copy_rate = {r["size"]: r.get("rows_per_s") for r in results if r["contestant"] == "bare_copy"}
    all_rate = {r["size"]: r.get("rows_per_s") for r in results if r["contestant"] == "bare_copy_all"}
    dlt_rate = {r["size"]: r.get("rows_per_s") for r in results if r["contestant"] == "dlt"}
    print("\n| tickets | contestant | rows | seconds | rows/s | peak RSS MB | " + _RATIOS)
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        for r in (r for r in results if r["size"] == size):
            if "rows" not in r:
                why = r.get("skipped") or "FAILED: " + r.get("failed", "")[-120:].replace("\n", " ")
                print(f"| {size:,} | {r['contestant']} | — | — | — | — | — | — | {why} |")
                continue
            rate = r["rows_per_s"] or 0
            copy_at, all_at, dlt_at = copy_rate.get(size), all_rate.get(size), dlt_rate.get(size)
            vs_copy = f"{rate / copy_at:.0%}" if copy_at else "—"
            vs_all = f"{rate / all_at:.0%}" if all_at else "—"
            vs_dlt = f"{rate / dlt_at:.1f}x" if dlt_at else "—"
            print(f"| {size:,} | {r['contestant']} | {r['rows']:,} | {r['seconds']:.1f} | {rate:,} | "
                  f"{r['peak_rss_mb']} | {vs_copy} | {vs_all} | {vs_dlt} |")  # fmt: skip
    _print_medians(results)


def _print_medians(results: list[dict[str, Any]]) -> None:
    """Per size and contestant: the median rows/s of its runs; ratios between medians."""
    from statistics import median

    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in results:
        if r.get("rows_per_s"):
            runs.setdefault((r["size"], r["contestant"]), []).append(r)
    rate = {key: median(r["rows_per_s"] for r in rs) for key, rs in runs.items()}
    print("\nMedians:")
    print("| tickets | contestant | runs | median rows/s | max peak RSS MB | " + _RATIOS)
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for (size, name), rs in sorted(runs.items()):
        copy_at, dlt_at = rate.get((size, "bare_copy")), rate.get((size, "dlt"))
        all_at = rate.get((size, "bare_copy_all"))
        vs_copy = f"{rate[size, name] / copy_at:.0%}" if copy_at else "—"
        vs_all = f"{rate[size, name] / all_at:.0%}" if all_at else "—"
        vs_dlt = f"{rate[size, name] / dlt_at:.1f}x" if dlt_at else "—"
        peak = max(r["peak_rss_mb"] for r in rs)
        cells = [f"{size:,}", name, str(len(rs)), f"{rate[size, name]:,.0f}", str(peak)]
        cells += [vs_copy, vs_all, vs_dlt]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
