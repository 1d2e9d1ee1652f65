"""Feedback while sending: a rich progress bar on a terminal, structured log lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tickettrak.collector.outcomes import Outcome
from tickettrak.collector.plan import PlannedRequest
from tickettrak.common.logs import get_logger

LOG_EVERY_S = 10.0


class Feedback:
    """Counts outcomes; draws a bar (terminal) or logs progress every LOG_EVERY_S (pods, CI)."""

    def __init__(self, total: int, label: str, *, terminal: bool, console: Console | None = None) -> None:
        self.total = total
        self.done = 0
        self.errors = 0
        self.retries = 0
        self._log: Any = get_logger("tickettrak.collector")
        self._started = time.monotonic()
        self._last_log = self._started
        self._progress: Progress | None = None
        if terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:>6.1f} req/s"),
                TextColumn("errors {task.fields[errors]} retries {task.fields[retries]}"),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
            )
            self._task = self._progress.add_task(label, total=total, rate=0.0, errors=0, retries=0)

    def __enter__(self) -> Feedback:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def on_outcome(self, outcome: Outcome) -> None:
        self.done += 1
        if not outcome.succeeded:
            self.errors += 1
            self._log.warning(
                "collect.request_failed",
                endpoint=outcome.endpoint,
                route=outcome.route,
                reason=outcome.reason,
                attempts=outcome.attempts,
                request_key=outcome.key,
            )
        self._refresh()

    def on_retry(self, request: PlannedRequest, reason: str, delay: float) -> None:
        self.retries += 1
        self._log.debug(
            "collect.retry",
            endpoint=request.endpoint,
            route=request.route,
            departure=request.departure,
            reason=reason,
            delay_s=round(delay, 2),
        )
        self._refresh()

    def _refresh(self) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task, completed=self.done, rate=self.rate, errors=self.errors, retries=self.retries
            )
            return
        now = time.monotonic()
        if now - self._last_log >= LOG_EVERY_S or self.done == self.total:
            self._last_log = now
            self._log.info(
                "collect.progress",
                done=self.done,
                total=self.total,
                rate_per_s=round(self.rate, 1),
                errors=self.errors,
                retries=self.retries,
            )
