"""Feedback while loading (rich progress bar on a terminal, log lines otherwise) and the summary."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from tickettrak.loader.loader import LoadSummary


class Feedback:
    """Receives run_load's callbacks; renders a progress bar or logs one line per batch."""

    def __init__(self, interactive: bool, log: Any) -> None:
        self.interactive = interactive
        self.log = log
        self.documents = 0
        self.tickets = 0
        self.started = time.monotonic()
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Feedback:
        if self.interactive:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("loading RAW"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("docs · {task.fields[tickets]} tickets · {task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, total: int | None) -> None:
        self.started = time.monotonic()
        if self._progress is not None:
            self._task = self._progress.add_task("load", total=total, tickets=0, rate=0)
        else:
            self.log.info("load started", documents_waiting=total)

    def advance(self, documents: int, tickets: int) -> None:
        self.documents += documents
        self.tickets += tickets
        rate = int(self.tickets / max(time.monotonic() - self.started, 1e-6))
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=documents, tickets=self.tickets, rate=rate)
        else:
            self.log.info("batch loaded", documents=self.documents, tickets=self.tickets, rows_per_s=rate)


def summary_lines(summary: LoadSummary) -> list[str]:
    quarantined = sum(summary.quarantined.values())
    by_reason = ", ".join(f"{reason}={count}" for reason, count in sorted(summary.quarantined.items()))
    return [
        f"documents read:      {summary.documents_read}"
        + (
            f" (+{summary.documents_already_loaded} already loaded)"
            if summary.documents_already_loaded
            else ""
        ),
        f"request_logs rows:   {summary.request_logs}",
        f"tickets inserted:    {summary.tickets_inserted}",
        f"tickets updated:     {summary.tickets_updated}",
        f"quarantined:         {quarantined}" + (f" ({by_reason})" if by_reason else ""),
        f"watermark:           {summary.watermark_before} -> {summary.watermark_after}",
        f"duration:            {summary.duration_s:.2f} s ({summary.tickets_per_s:,.0f} tickets/s)",
    ]


def print_summary(summary: LoadSummary, interactive: bool) -> None:
    import typer

    for line in summary_lines(summary):
        typer.echo(line)
