"""Reading RAW documents in seq order, one bounded batch at a time.

Each batch is its own query (`seq > last seen`, sorted, limited), so memory stays at one batch
whatever the size of RAW, and the same code drives pymongo (MongoDB, FerretDB) and montydb.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

RAW_COLLECTION = "raw_exchanges"


def read_batches(collection: Any, after_seq: int, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """Batches of whole RAW documents with seq > after_seq, in seq order."""
    last = after_seq
    while True:
        batch = list(collection.find({"seq": {"$gt": last}}).sort("seq", 1).limit(batch_size))
        if not batch:
            return
        yield batch
        last = int(batch[-1]["seq"])
        if len(batch) < batch_size:
            return


def count_after(collection: Any, after_seq: int) -> int | None:
    """How many documents are waiting (for the progress bar); None if the store cannot say cheaply."""
    try:
        return int(collection.count_documents({"seq": {"$gt": after_seq}}))
    except Exception:  # a progress total is a nicety, never a reason to fail the load
        return None
