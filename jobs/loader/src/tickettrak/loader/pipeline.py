"""RAW batches -> encoded batches, in seq order, the CPU work in a worker process.

Why a process: the loader's Python work (decode, parse, encode: ~2.5 CPU-s per 100k tickets) is
as large as PostgreSQL's, and in one process it shares the GIL with the thread feeding
PostgreSQL: every time the socket to PostgreSQL drains, that thread waits for the GIL, and
PostgreSQL idles. Measured with threads: wall time = Python CPU + PostgreSQL CPU, no overlap.
With the worker, the parent only reads RAW bytes and streams COPY payloads, and the two halves
run on two cores.

The flow (bounded: at most `depth` batches are in flight, so memory stays flat):
    feeder thread --RAW BSON batches--> worker process --EncodedBatch--> caller (writes, in order)
Everything goes through the worker in order, end and read errors included, so the caller sees
exactly the sequence of batches the reader produced, then the end or the error.
A load of at most two batches is encoded in-process: starting a worker (~0.4 s) would cost more;
in a larger load the first batch is encoded in-process while the worker starts.

If the parent dies (SIGKILL), the worker's next pipe read or write fails and it exits; it never
touches PostgreSQL, so it cannot change what the parent committed. If the caller stops early
(a failed write), closing the generator kills the worker: run_load closes it at once
(`contextlib.closing`), not whenever the generator happens to be garbage-collected.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Generator, Iterator
from typing import IO, Any

from tickettrak.common.raw_store import RawBson, RawStore
from tickettrak.loader.encode import BatchEncoder, EncodedBatch

_END = "end"
_FAILED = "failed"  # (_FAILED, where, reason), where is _READ or _ENCODE
_READ, _ENCODE = "read", "encode"
# Loads of at most this many batches' worth of documents are encoded in-process: starting the
# worker costs ~0.4 s.
# Two covers a daily rerun with nothing new (the default overlap re-reads 1000 seqs = 2 batches).
_IN_PROCESS_BATCHES = 2
_HEADER = struct.Struct("!Q")  # each message: its length, then the pickle


class PipelineFailed(RuntimeError):
    """The load stopped before writing the next batch; what committed stays committed."""


class WorkerFailed(PipelineFailed):
    """The worker failed or died; the message says on which batch (seqs) when it knows."""


class RawReadFailed(PipelineFailed):
    """Reading RAW failed (after the first batches: those raise the store's own error)."""


def encoded_batches(
    store: RawStore, after_seq: int, batch_size: int, encoder: BatchEncoder, depth: int = 2
) -> Generator[EncodedBatch, None, None]:
    reader = store.read_raw_batches(after_seq, batch_size)
    read: list[list[RawBson]] = []
    documents = 0
    for batch in reader:
        read.append(batch)
        documents += len(batch)
        if documents > _IN_PROCESS_BATCHES * batch_size:
            first = read.pop(0)  # encoded here while the worker starts (~0.4 s of imports)
            rest = _ramped(_chain(read, reader), batch_size)
            yield from _through_worker(first, rest, encoder, depth)
            return
    while read:  # a small load (or a rerun that only re-reads the overlap window): no worker
        yield encoder.encode(read.pop(0))


def _chain(read: list[list[RawBson]], rest: Iterator[list[RawBson]]) -> Iterator[list[RawBson]]:
    """The batches already read, then the rest; popped, so none stays referenced once sent."""
    while read:
        yield read.pop(0)
    yield from rest


def _through_worker(
    first: list[RawBson], raw: Iterator[list[RawBson]], encoder: BatchEncoder, depth: int
) -> Iterator[EncodedBatch]:
    """`first` encoded in this process, then `raw` through the worker, in that order."""
    # A plain `python -m` child, not multiprocessing: its spawn re-runs the caller's main module in
    # the child (any unguarded script calling run_load would run twice).
    # -P: the working directory does not go first on the worker's sys.path (a stray bson.py there
    # must not shadow the installed one).
    worker = subprocess.Popen(
        [sys.executable, "-P", "-m", "tickettrak.loader.pipeline"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    to_worker, from_worker = worker.stdin, worker.stdout
    assert to_worker is not None and from_worker is not None
    in_flight = threading.Semaphore(depth)
    stop = threading.Event()

    def feed() -> None:
        try:
            _send(to_worker, encoder)
            for batch in raw:
                while not in_flight.acquire(timeout=0.2):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                _send(to_worker, batch)
            _send(to_worker, _END)
        except BaseException as error:  # the read failed: the worker passes the news on, in order
            if not stop.is_set():
                with contextlib.suppress(OSError, ValueError):
                    _send(to_worker, (_FAILED, _READ, _describe(error)))

    feeder = threading.Thread(target=feed, name="tickettrak-raw-feeder", daemon=True)
    feeder.start()
    try:
        yield encoder.encode(first)  # written while the worker imports and starts on the next ones
        del first
        while True:
            message = _receive(from_worker)
            if message is None:
                code = worker.wait(timeout=5)
                raise WorkerFailed(f"the load worker exited unexpectedly (exit code {code})")
            if message == _END:
                return
            if isinstance(message, tuple) and message[:1] == (_FAILED,):
                _, where, reason = message
                raise (RawReadFailed if where == _READ else WorkerFailed)(reason)
            in_flight.release()
            yield message
    finally:
        # Stop the worker first: it has no side effects, and a feeder blocked writing to it (the
        # worker blocked writing back to a caller that stopped reading) is released by EPIPE.
        # Closing the pipes first could block forever on the feeder's buffer lock.
        stop.set()
        if worker.poll() is None:
            worker.kill()
        worker.wait(timeout=10)
        feeder.join(timeout=10)
        for stream in (to_worker, from_worker):
            with contextlib.suppress(OSError):
                stream.close()


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next message, or None at the end of the stream (the other side exited)."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)  # noqa: S301 (our own worker, over our own pipe)


def _work() -> None:
    """The worker's loop (`python -m tickettrak.loader.pipeline`): decode, parse and encode each
    batch, in the order received, answering on the original stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inbox = sys.stdin.buffer
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the message stream: stdout goes to stderr
    try:
        encoder: BatchEncoder = _receive(inbox)
        while encoder is not None:
            message = _receive(inbox)
            if message is None:  # the parent is gone
                return
            if message == _END or (isinstance(message, tuple) and message[:1] == (_FAILED,)):
                _send(outbox, message)
                return
            try:
                _send(outbox, encoder.encode(message))
            except (BrokenPipeError, OSError):
                raise
            except BaseException as error:  # never a traceback on the loader's stderr: tell the parent
                seqs = f"seq {message[0].seq}..{message[-1].seq}"
                _send(outbox, (_FAILED, _ENCODE, f"encoding the RAW batch {seqs} failed: {_describe(error)}"))
                return
    except (BrokenPipeError, OSError):  # the parent is gone: nothing left to do
        return


def _describe(error: BaseException) -> str:
    where = traceback.extract_tb(error.__traceback__)
    at = f" (at {where[-1].filename}:{where[-1].lineno})" if where else ""
    return f"{type(error).__name__}: {error}{at}"


def _ramped(batches: Iterator[list[RawBson]], batch_size: int) -> Iterator[list[RawBson]]:
    """The first batches smaller (1/8, 1/4, 1/2 of batch_size), then full ones: the writer starts
    after a small encode instead of a whole batch's, so even a small load overlaps encoding and
    writing. Batch boundaries do not matter for correctness (each batch is one transaction)."""
    size = max(1, batch_size // 8)
    for batch in batches:  # each is sorted by seq, so every piece is too
        start = 0
        while start < len(batch):
            piece = batch[start : start + size]
            start += len(piece)
            size = min(batch_size, size * 2)
            yield piece


if __name__ == "__main__":
    _work()
