"""Read and parse the next RAW batch in a background thread while the current one is written.

PostgreSQL spends a batch's upsert time on its own CPU while the loader waits on the socket (the
GIL is released there); parsing the next batch meanwhile overlaps the two. The queue is bounded,
so at most `depth` parsed batches wait in memory: memory stays flat whatever the size of RAW.
Writes stay on the caller's thread, in seq order, so the crash semantics do not change.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from tickettrak.common.raw_store import RawStore
from tickettrak.loader.parse import ParsedDocument

_DONE = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def parsed_batches(
    store: RawStore,
    after_seq: int,
    batch_size: int,
    parse: Callable[[dict[str, Any]], ParsedDocument],
    depth: int = 2,
) -> Iterator[tuple[int, list[ParsedDocument]]]:
    """(max seq of the batch, its parsed documents) in seq order, parsed ahead by a thread."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for batch in _ramped(store.read_batches(after_seq, batch_size), batch_size):
                if not put((int(batch[-1]["seq"]), [parse(doc) for doc in batch])):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the caller's thread, which raises it
            put(_Failed(error))

    worker = threading.Thread(target=produce, name="tickettrak-raw-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _ramped(batches: Iterator[list[dict[str, Any]]], batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """The first batches smaller (1/8, 1/4, 1/2 of batch_size), then full ones: the writer starts
    after a small parse instead of a whole batch's, so a small load overlaps parsing and writing
    too. Batch boundaries do not matter for correctness (each batch is one transaction)."""
    size = max(1, batch_size // 8)
    for batch in batches:  # each is sorted by seq, so every piece is too
        start = 0
        while start < len(batch):
            piece = batch[start : start + size]
            start += len(piece)
            size = min(batch_size, size * 2)
            yield piece
