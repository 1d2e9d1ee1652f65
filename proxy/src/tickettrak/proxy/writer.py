"""Group commit to the RAW store: one writer per process, requests wait for their acknowledgement.

Every request hands its document to a queue and waits. One task takes whatever is queued (up to
`max_batch`), writes it in one ordered insert on a dedicated thread (pymongo is synchronous), then
wakes each request with its seq or with the error. Under load the batches grow, so one round trip
serves many requests; with no load a batch is a single document and nothing waits. One writer per
process also keeps seq allocation serial within the process (see `raw_store`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tickettrak.common.raw_store import RawStore, RawStoreUnavailable
from tickettrak.proxy.metrics import ProxyMetrics

_Item = tuple[dict[str, Any], "asyncio.Future[int]"]


class RawWriter:
    def __init__(self, store: RawStore, metrics: ProxyMetrics, max_batch: int = 64) -> None:
        self._store = store
        self._metrics = metrics
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-writer")
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="raw-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for document, future in self._drain():
            del document
            if not future.done():
                future.set_exception(RawStoreUnavailable("the proxy is shutting down"))
        self._executor.shutdown(wait=True)

    async def write(self, document: dict[str, Any]) -> int:
        """Store `document`; return its seq once acknowledged, or raise `RawStoreUnavailable`."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((document, future))
        return await future

    def _drain(self, limit: int | None = None) -> list[_Item]:
        items: list[_Item] = []
        while not self._queue.empty() and (limit is None or len(items) < limit):
            items.append(self._queue.get_nowait())
        return items

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get(), *self._drain(self._max_batch - 1)]
            documents = [document for document, _ in batch]
            started = time.perf_counter()
            try:
                seqs = await loop.run_in_executor(self._executor, self._store.insert_exchanges, documents)
            except Exception as error:
                failure = error if isinstance(error, RawStoreUnavailable) else RawStoreUnavailable(str(error))
                self._metrics.raw_store_up.set(0)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                continue
            self._metrics.raw_write_seconds.observe(time.perf_counter() - started)
            self._metrics.raw_batch_size.observe(len(batch))
            self._metrics.raw_store_up.set(1)
            for (_, future), seq in zip(batch, seqs, strict=True):
                if not future.done():
                    future.set_result(seq)
