"""The RAW store: one code path (the pymongo API) for MongoDB, FerretDB and the embedded montydb.

The proxy writes here (`insert_exchanges`), the loader reads (`read_batches`, `body_json`), the
collector's resume point comes from here (`completed_request_keys`). The document shape is the
contract in ARCHITECTURE.md ("The RAW document").

## How `seq` is allocated, and why the loader's watermark is safe

The loader reads `seq > watermark` and then moves the watermark to the last seq it saw. That is
only correct if a document with a smaller seq can never become visible *after* a larger one (else
the loader would step over it for ever). A counter document (`$inc`, then insert) does not give
that: writer A takes 5, writer B takes 6, B's insert lands first, the loader reads 6, then A's 5
appears behind the watermark.

So a seq is not reserved before the insert; the insert itself claims it: each writer inserts with
`seq = (the largest seq it knows) + 1` and the unique index on `seq` rejects the insert if another
writer (another proxy replica) already holds that number; the loser steps past that number (it
exists, so no gap opens) and tries again, re-reading the maximum after a few steps. Consequence:
a writer tries `n + 1` only after `n` is known to exist (its own insert of `n` succeeded, or `n`
was a duplicate), so seqs are dense (no gaps) and become visible in order, whatever the number of
proxy replicas. Within one process the writer keeps the next seq in memory (no read per insert) and
inserts batches with `insert_many(ordered=True)`, which keeps the same property (an ordered batch
stops at its first duplicate). Cost: a conflict between replicas costs one more insert round trip.

The embedded store (montydb) has no unique indexes, so there the guarantee comes from having a
single writer: the writer holds an exclusive lock file next to the data (a second proxy on the same
embedded store stops with a clear message), and the one writer serialises its inserts.

Durability: inserts use write concern `majority` against a replica set (acknowledged `w=1`
otherwise) and a client-side timeout; any failure raises `RawStoreUnavailable`. A document is a
single insert, so it is either whole or absent; if the connection drops after the server wrote it
but before the acknowledgement, the caller gets the error although the document exists (the
client then retries and RAW holds two exchanges, which the loader deduplicates by request key).
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypeVar

from tickettrak.common.settings import REAL_API_BASE_URL, Settings

RAW_COLLECTION = "raw_exchanges"
# One document (_id "upstream"): which upstream this store's exchanges come from, "sandbox" or
# "real". Simulated prices must never sit next to real ones: they would load into the same
# tickets and marts, indistinguishable (and a day collected from one counts as done for the other).
META_COLLECTION = "raw_meta"
UPSTREAM_KINDS = ("sandbox", "real")
_Item = TypeVar("_Item")
SCHEMA_VERSION = 1
WRITER_LOCK_FILE = "proxy-writer.lock"

BodyFormat = Literal["json", "json_text", "text", "empty", "none"]

# MongoDB refuses documents nested deeper than 100 levels; keep room for the envelope.
_MAX_BSON_DEPTH = 90
_MAX_CONFLICT_RETRIES = 50
_PROBES_BEFORE_MAX = 4
# A batch read (the first one sorts on FerretDB) may take long on a busy machine; a stall may not.
_READ_TIMEOUT_S = 120.0


_KIND_TEXT = {"sandbox": "sandbox (simulated prices)", "real": "real Aviasales API"}


class RawStoreUnavailable(Exception):
    """The RAW store cannot be reached or did not acknowledge a write; the message says why."""


class MixedUpstreams(RawStoreUnavailable):
    """The store holds exchanges from the other upstream (sandbox vs the real API): never mixed."""


# --- the body as it is stored ---------------------------------------------------------------------
@dataclass(frozen=True)
class StoredBody:
    body_format: BodyFormat
    body: Any  # the parsed JSON when body_format == "json", else None
    body_text: str | None  # the text for "json_text" and "text", else None


class _NotStorable(Exception):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotStorable("duplicate key in a JSON object")
    return result


def _reject_constant(name: str) -> Any:
    raise _NotStorable(f"non-standard JSON constant {name}")


def _check_tree(value: Any, depth: int = 0) -> int:
    """Keys BSON refuses, infinities, nesting too deep; returns the number of object keys.

    Only containers recurse and leaves cost one type check: this runs on every response body.
    """
    if depth > _MAX_BSON_DEPTH:
        raise _NotStorable("nested too deep for BSON")
    if type(value) is dict:
        for key in value:
            if not key or key[0] == "$" or "." in key or "\x00" in key:
                raise _NotStorable(f"key {key!r} is not a valid BSON field name")
        items: Any = value.values()
        keys = len(value)
    else:
        items, keys = value, 0
    for item in items:
        kind = type(item)
        if kind is dict or kind is list:
            keys += _check_tree(item, depth + 1)
        elif kind is float and not math.isfinite(item):
            raise _NotStorable("number beyond double range")
    return keys


def _check_storable(value: Any) -> int:
    """Raise `_NotStorable` if BSON cannot hold `value` so that it reads back as the same JSON.

    The C BSON encoder refuses integers beyond int64 and strings with lone surrogates, which is
    much cheaper than visiting every value here. Returns the number of object keys.
    """
    import bson

    keys = 0
    if type(value) is dict or type(value) is list:
        keys = _check_tree(value)
    elif type(value) is float and not math.isfinite(value):
        raise _NotStorable("number beyond double range")
    try:
        bson.encode({"body": value})
    except Exception as error:  # OverflowError, InvalidDocument, InvalidStringData...
        raise _NotStorable(f"BSON cannot hold it: {error}") from None
    return keys


def _parse_storable(text: str) -> Any:
    """The parsed JSON if BSON can hold it unchanged; `_NotStorable` if not; ValueError if not JSON.

    Fast path: the C parser without a per-object hook. A duplicate key would vanish silently
    there, so the parsed keys are counted against the `":` tokens of the text (inside a string a
    quote is escaped, so a bare `":` always closes a key). When they differ (a duplicate, or just
    spacing such as `"a" : 1`), or when the text has escaped quotes at all, the exact path parses
    again with a per-object hook.
    """
    parsed = json.loads(text, parse_constant=_reject_constant)
    if _check_storable(parsed) == text.count('":') and '\\"' not in text:
        return parsed
    parsed = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
    _check_storable(parsed)
    return parsed


def _decode_text(content: bytes, charset: str | None) -> str:
    try:
        return content.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        # Not valid in its declared charset: keep what can be read, mark what cannot.
        return content.decode("utf-8", errors="replace")


def stored_body(content: bytes | None, charset: str | None = None) -> StoredBody:
    """How a response body goes into RAW: parsed JSON when BSON can hold it unchanged, else text.

    `json_text` is JSON that BSON would alter (`$`-prefixed or dotted keys, integers beyond int64,
    NaN/Infinity, duplicate keys, lone surrogates, extreme nesting): its exact text is kept instead.
    """
    if content is None:
        return StoredBody("none", None, None)
    if not content:
        return StoredBody("empty", None, None)
    text = _decode_text(content, charset)
    try:
        parsed = _parse_storable(text)
    except _NotStorable:
        return StoredBody("json_text", None, text)
    except (ValueError, RecursionError):
        return StoredBody("text", None, text)
    return StoredBody("json", parsed, None)


def body_json(document: Mapping[str, Any]) -> Any:
    """The response body of a RAW document as parsed JSON (for `json` and `json_text`).

    Raises `ValueError` when the body is not JSON (`text`, `empty`, `none`).
    """
    response = document.get("response") or {}
    body_format = response.get("body_format")
    if body_format == "json":
        return response.get("body")
    if body_format == "json_text":
        return json.loads(response.get("body_text") or "")
    raise ValueError(f"the RAW body is not JSON (body_format={body_format!r})")


# --- the store ------------------------------------------------------------------------------------
def _is_pymongo(db: Any) -> bool:
    return type(db).__module__.startswith("pymongo")


class _WriterLock:
    """An exclusive lock file: one writer process per embedded store (montydb has no unique index)."""

    def __init__(self, path: Path) -> None:
        import fcntl

        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.close()
            raise RawStoreUnavailable(
                f"another process already writes to the embedded RAW store (lock {path}); "
                "run one proxy per TICKETTRAK_HOME, or set TICKETTRAK_MONGO_URI"
            ) from None

    def release(self) -> None:
        self._file.close()


class RawStore:
    """The `raw_exchanges` collection behind one database handle (pymongo or montydb)."""

    def __init__(
        self,
        db: Any,
        *,
        write_timeout_s: float = 10.0,
        writer_lock: Path | None = None,
        upstream_kind: str | None = None,
    ) -> None:
        """`upstream_kind` ("sandbox" or "real"): a writer's upstream, claimed or checked by
        `ensure_indexes` (see META_COLLECTION); None for readers."""
        if upstream_kind is not None and upstream_kind not in UPSTREAM_KINDS:
            raise ValueError(f"upstream_kind must be one of {UPSTREAM_KINDS}, got {upstream_kind!r}")
        self._upstream_kind = upstream_kind
        self._db = db
        self._pymongo = _is_pymongo(db)
        self._write_timeout_s = write_timeout_s
        # Serialises inserts (seq allocation), and on montydb every operation: montydb shares one
        # SQLite connection between the proxy's writer thread and its readers and is not thread-safe.
        self._lock = threading.RLock()
        self._next_seq: int | None = None
        self._indexes_ready = False
        self._majority: bool | None = None
        self._writer_lock = _WriterLock(writer_lock) if writer_lock is not None else None

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        writer: bool = False,
        server_selection_timeout_ms: int = 5000,
        write_timeout_s: float = 10.0,
    ) -> RawStore:
        """Open the configured store. `writer=True` for the proxy (takes the embedded lock, and
        writes only exchanges with the settings' upstream: the sandbox without a token)."""
        from tickettrak.common.embedded.mongo import embedded_raw_dir, is_embedded, open_raw_database

        db = open_raw_database(settings, server_selection_timeout_ms=server_selection_timeout_ms)
        lock = embedded_raw_dir(settings) / WRITER_LOCK_FILE if writer and is_embedded(settings) else None
        kind = ("sandbox" if settings.uses_sandbox else "real") if writer else None
        return cls(db, write_timeout_s=write_timeout_s, writer_lock=lock, upstream_kind=kind)

    @property
    def collection(self) -> Any:
        return self._db[RAW_COLLECTION]

    @property
    def is_embedded(self) -> bool:
        return not self._pymongo

    @property
    def ready(self) -> bool:
        """`ensure_indexes` succeeded: indexes made and (a writer) the upstream claimed or checked."""
        return self._indexes_ready

    def close(self) -> None:
        if self._writer_lock is not None:
            self._writer_lock.release()
            self._writer_lock = None
        client = getattr(self._db, "client", None)
        if client is not None:
            client.close()

    # -- plumbing
    def _guard(self, seconds: float) -> Any:
        """Around every store operation: pymongo's client-side timeout; on montydb, the store's lock."""
        if self._pymongo:
            import pymongo

            return pymongo.timeout(seconds)
        return self._lock

    def _unavailable(self, error: Exception, doing: str) -> RawStoreUnavailable:
        self._next_seq = None  # after any doubt, re-read the maximum before the next insert
        message = str(error).split(", full error:")[0][:300] or type(error).__name__
        return RawStoreUnavailable(f"RAW store ({self.describe()}) failed while {doing}: {message}")

    def describe(self) -> str:
        return "embedded montydb" if not self._pymongo else f"MongoDB database {self._db.name!r}"

    def _write_collection(self) -> Any:
        if not self._pymongo:
            return self.collection
        from pymongo.write_concern import WriteConcern

        if self._majority is None:
            hello = self._db.client.admin.command("hello")
            self._majority = "setName" in hello
        return self.collection.with_options(write_concern=WriteConcern(w="majority" if self._majority else 1))

    # -- operations
    def ping(self, timeout_s: float = 2.0) -> None:
        try:
            with self._guard(timeout_s):
                if self._pymongo:
                    self._db.command("ping")
                else:
                    self._db.list_collection_names()
        except Exception as error:
            raise self._unavailable(error, "answering a ping") from error

    def ensure_indexes(self) -> None:
        """Create the indexes (idempotent): unique `seq`, and (logical_date, request_key) for resume.
        A writer also claims the store for its upstream, or checks it (raises `MixedUpstreams`)."""
        try:
            with self._guard(self._write_timeout_s):
                self.collection.create_index([("seq", 1)], unique=True, name="seq_unique")
                self.collection.create_index(
                    [("logical_date", 1), ("request_key", 1)], name="logical_date_request_key"
                )
                stored = self._claim_upstream() if self._upstream_kind is not None else None
        except Exception as error:
            raise self._unavailable(error, "creating indexes") from error
        if stored is not None and stored != self._upstream_kind:
            raise MixedUpstreams(
                f"the RAW store ({self.describe()}) holds exchanges with the {_KIND_TEXT[stored]}; this "
                f"proxy's upstream is the {_KIND_TEXT[str(self._upstream_kind)]}: refusing to mix simulated "
                "and real prices in one store. Use another store: another TICKETTRAK_HOME on a laptop, "
                "another database in TICKETTRAK_MONGO_URI in a cluster"
            )
        self._indexes_ready = True

    def _claim_upstream(self) -> str:
        """The upstream kind the store holds: recorded, else inferred from its newest exchange, else
        (an empty store) claimed for this writer's."""
        meta = self._db[META_COLLECTION]
        found = meta.find_one({"_id": "upstream"})
        if found is not None:
            return str(found.get("kind"))
        newest = list(self.collection.find({}, {"request": 1}).sort("seq", -1).limit(1))
        # A store from before the marker: real if its newest exchange went to the real API's host
        # without the as-of header the proxy sends only to the sandbox.
        request = newest[0].get("request") if newest else None
        request = request if isinstance(request, dict) else {}
        headers, url = request.get("headers") or {}, str(request.get("url") or "")
        to_sandbox = any(str(k).lower() == "x-sandbox-as-of" for k in headers)
        inferred = "real" if url.startswith(REAL_API_BASE_URL + "/") and not to_sandbox else "sandbox"
        kind = inferred if newest else str(self._upstream_kind)
        try:
            meta.insert_one({"_id": "upstream", "kind": kind})
        except Exception:  # another replica claimed it first (duplicate _id): its claim stands
            found = meta.find_one({"_id": "upstream"})
            if found is None:
                raise
            return str(found.get("kind"))
        return kind

    def max_seq(self) -> int:
        """The largest seq in RAW, 0 when empty."""
        with self._guard(self._write_timeout_s):
            last = list(self.collection.find({}, {"seq": 1, "_id": 0}).sort("seq", -1).limit(1))
        return int(last[0]["seq"]) if last else 0

    def insert_exchanges(self, documents: Sequence[dict[str, Any]]) -> list[int]:
        """Insert RAW documents in order, giving each the next seq; return the seqs.

        Returns only after the store acknowledged every document; raises `RawStoreUnavailable`
        otherwise (see the module docstring for the seq allocation).
        """
        from bson.int64 import Int64

        if not documents:
            return []
        with self._lock:
            try:
                with self._guard(self._write_timeout_s):
                    if not self._indexes_ready:
                        self.ensure_indexes()
                    collection = self._write_collection()
                    pending = list(documents)
                    for attempt in range(_MAX_CONFLICT_RETRIES):
                        if self._next_seq is None:
                            self._next_seq = self.max_seq() + 1
                        for offset, document in enumerate(pending):
                            document["seq"] = Int64(self._next_seq + offset)
                        inserted = self._insert_ordered(collection, pending)
                        pending = pending[inserted:]
                        if not pending:
                            self._next_seq += inserted
                            return [int(d["seq"]) for d in documents]
                        # Another writer holds the next number: step past it (it exists, so no
                        # gap opens); after a few steps, re-read the maximum instead (it may be
                        # far ahead, and max() is a scan on stores without sort pushdown).
                        self._next_seq += inserted + 1
                        if attempt % _PROBES_BEFORE_MAX == _PROBES_BEFORE_MAX - 1:
                            self._next_seq = None
            except RawStoreUnavailable:
                raise
            except Exception as error:
                raise self._unavailable(error, "writing") from error
        raise RawStoreUnavailable(
            "RAW store: could not claim a seq after repeated conflicts with other writers"
        )

    def _insert_ordered(self, collection: Any, documents: list[dict[str, Any]]) -> int:
        """Insert in order; return how many went in before a duplicate seq stopped the batch."""
        if not self._pymongo:
            collection.insert_many(documents, ordered=True)
            return len(documents)
        from pymongo.errors import BulkWriteError

        try:
            collection.insert_many(documents, ordered=True)
        except BulkWriteError as error:
            details = error.details
            errors = details.get("writeErrors") or []
            if details.get("writeConcernErrors") or not errors or any(e.get("code") != 11000 for e in errors):
                raise
            inserted = int(details.get("nInserted", 0))
            # pymongo set `_id` on every document; the ones not inserted must get new ones.
            for document in documents[inserted:]:
                document.pop("_id", None)
            return inserted
        return len(documents)

    # -- reading (loader, resume)
    def read_batches(self, after_seq: int, batch_size: int = 500) -> Iterator[list[dict[str, Any]]]:
        """Whole RAW documents with seq > after_seq, `batch_size` at a time, each batch sorted by seq.

        Memory stays bounded by one batch whatever the size of RAW:
        - MongoDB / FerretDB: one cursor sorted by seq (the unique index), `batch_size` per
          round trip.
        - montydb: it answers every query by loading and decoding the whole collection, which
          makes batched queries quadratic and memory grow with RAW. So the collection's SQLite
          file is read directly (read-only, its own connection: no lock shared with a writer),
          one short keyset query per batch, rows decoded with montydb's own codec and filtered
          on seq. Rows come in insertion order, which is seq order with the single embedded
          writer (see the module docstring); each batch is still sorted, and the loader's
          overlap re-check covers any write that raced.
        """
        path = self._montydb_file()
        if path is not None:
            yield from self._read_montydb(path, after_seq, batch_size)
            return
        # One cursor, not a query per batch: FerretDB does not push the sort down, so each
        # `seq > last` query would sort the rest of the collection again (quadratic).
        cursor = self.collection.find({"seq": {"$gt": after_seq}}).sort("seq", 1)
        if self._pymongo:  # montydb has no batch_size(); it only gets here before its first write
            cursor = cursor.batch_size(batch_size)
        with cursor:
            while True:
                with self._guard(_READ_TIMEOUT_S):  # per batch: a stalled server fails the read
                    batch = list(itertools.islice(cursor, batch_size))
                if not batch:
                    return
                yield batch

    def read_raw_batches(self, after_seq: int, batch_size: int = 500) -> Iterator[list[RawBson]]:
        """Like `read_batches`, but each document as its BSON bytes plus its seq, decoded by the
        consumer with `codec_options` (the loader decodes them in its worker process: the bytes
        cross a pipe far cheaper than decoded documents would). Same order, same batches.
        Only the top level is read here (RawBSONDocument leaves nested documents undecoded)."""
        from bson.raw_bson import RawBSONDocument

        path = self._montydb_file()
        if path is not None and _montydb_uses_bson():
            yield from self._read_montydb_raw(path, after_seq, batch_size)
            return
        if self._pymongo:
            options = self.collection.codec_options.with_options(document_class=RawBSONDocument)
            cursor = (
                self.collection.with_options(codec_options=options)
                .find({"seq": {"$gt": after_seq}})
                .sort("seq", 1)
                .batch_size(batch_size)
            )
            with cursor:
                while True:
                    with self._guard(_READ_TIMEOUT_S):
                        raw = list(itertools.islice(cursor, batch_size))
                    if not raw:
                        return
                    yield [RawBson(int(doc["seq"]), bytes(doc.raw)) for doc in raw]
            return
        import bson  # montydb without a BSON file (memory storage, JSON storage): re-encode

        for batch in self.read_batches(after_seq, batch_size):
            yield [RawBson(_seq(doc), bson.encode(doc, codec_options=self.codec_options)) for doc in batch]

    @property
    def codec_options(self) -> Any:
        """How to decode what `read_raw_batches` yields into the documents `read_batches` gives."""
        if self._pymongo:
            return self.collection.codec_options
        return self.collection.database.codec_options

    def _read_montydb_raw(self, path: Path, after_seq: int, batch_size: int) -> Iterator[list[RawBson]]:
        from bson.raw_bson import RawBSONDocument

        def read(value: Any) -> tuple[Any, RawBson]:
            data = bytes(value)
            seq = RawBSONDocument(data).get("seq")  # the top level only: nested parts stay bytes
            return seq, RawBson(seq if isinstance(seq, int) else 0, data)

        return _scan_montydb(path, after_seq, batch_size, read)

    def _montydb_file(self) -> Path | None:
        """The SQLite file behind a montydb SQLite collection (None for other stores)."""
        if self._pymongo:
            return None
        collection = self.collection
        storage: Any = getattr(collection, "_storage", None)
        if type(storage).__name__ != "SQLiteStorage" or not type(storage).__module__.startswith("montydb"):
            return None
        path = Path(storage._repository) / collection.database.name / f"{collection.name}.collection"
        return path if path.exists() else None

    def _read_montydb(self, path: Path, after_seq: int, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        from montydb.types import bson as monty_bson

        options = self.collection.database.codec_options

        def read(value: Any) -> tuple[Any, dict[str, Any]]:
            doc: dict[str, Any] = monty_bson.document_decode(value, codec_options=options)
            return doc.get("seq"), doc

        return _scan_montydb(path, after_seq, batch_size, read)

    def count_after(self, after_seq: int) -> int | None:
        """How many documents have seq > after_seq; None where that would cost a full decode
        (montydb decodes the whole collection to count it): a progress total, not a fact to rely on."""
        if self._montydb_file() is not None:
            return None
        try:
            return self.count({"seq": {"$gt": after_seq}})
        except Exception:  # a progress total is never a reason to fail
            return None

    def count(self, query: Mapping[str, Any] | None = None) -> int:
        with self._guard(self._write_timeout_s):
            return int(self.collection.count_documents(dict(query or {})))

    def completed_request_keys(self, logical_date: str) -> list[str]:
        """Request keys with a successful exchange (HTTP 200, JSON body with `success: true`)."""
        try:
            with self._guard(self._write_timeout_s):
                base = {"logical_date": logical_date, "response.status": 200}
                keys = {
                    d["request_key"]
                    for d in self.collection.find(
                        {**base, "response.body_format": "json", "response.body.success": True},
                        {"request_key": 1, "_id": 0},
                    )
                }
                for d in self.collection.find(
                    {**base, "response.body_format": "json_text"},
                    {"request_key": 1, "response.body_text": 1, "_id": 0},
                ):
                    if _json_text_success(d):
                        keys.add(d["request_key"])
        except Exception as error:
            raise self._unavailable(error, "reading completed requests") from error
        return sorted(keys)


def _scan_montydb(
    path: Path, after_seq: int, batch_size: int, read: Callable[[Any], tuple[Any, _Item]]
) -> Iterator[list[_Item]]:
    """Documents with seq > after_seq from montydb's SQLite file, `batch_size` at a time, each batch
    sorted by seq: a read-only connection of its own, one short keyset query per batch; `read`
    turns a stored value into (seq, item)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        last_rowid = 0
        batch: list[tuple[int, _Item]] = []
        while True:
            rows = conn.execute(
                "SELECT rowid, v FROM documents WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (last_rowid, batch_size),
            ).fetchall()
            for rowid, value in rows:
                last_rowid = rowid
                seq, item = read(value)
                if isinstance(seq, int) and not isinstance(seq, bool) and seq > after_seq:
                    batch.append((seq, item))
            if len(batch) >= batch_size or (batch and len(rows) < batch_size):
                batch.sort(key=lambda pair: pair[0])
                for start in range(0, len(batch), batch_size):
                    yield [item for _, item in batch[start : start + batch_size]]
                batch = []
            if len(rows) < batch_size:
                return
    finally:
        conn.close()


class RawBson(NamedTuple):
    """One RAW document as stored: its seq (read from the top level) and its BSON bytes."""

    seq: int
    data: bytes


def _montydb_uses_bson() -> bool:
    """montydb stores BSON only when configured so (ours is: embedded.mongo sets use_bson)."""
    from montydb.types import bson as monty_bson

    _ = monty_bson.document_decode  # the first attribute read applies the open repository's config
    return monty_bson.bson_used is True


def _seq(document: Mapping[str, Any]) -> int:
    return int(document["seq"])


def _json_text_success(document: Mapping[str, Any]) -> bool:
    try:
        body = json.loads(document["response"]["body_text"])
    except (KeyError, TypeError, ValueError):
        return False
    return isinstance(body, dict) and body.get("success") is True
