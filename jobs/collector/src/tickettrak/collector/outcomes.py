"""What happened to each planned request, and the run's totals."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """The final state of one planned request (after its retries)."""

    key: str
    endpoint: str
    route: str
    succeeded: bool
    reason: str | None  # None when succeeded; e.g. "http_503", "timeout", "api_error"
    offers: int
    attempts: int

    @property
    def empty(self) -> bool:
        return self.succeeded and self.offers == 0


@dataclass
class EndpointStats:
    per_minute: float
    attempts: int = 0
    first_send: float | None = None
    last_send: float | None = None

    def record_send(self, at: float) -> None:
        self.attempts += 1
        if self.first_send is None:
            self.first_send = at
        self.last_send = at

    @property
    def achieved_per_minute(self) -> float | None:
        """Sends per minute between the first and the last send (None under two sends)."""
        if self.attempts < 2 or self.first_send is None or self.last_send is None:
            return None
        span = self.last_send - self.first_send
        return (self.attempts - 1) * 60.0 / span if span > 0 else None


@dataclass
class RunSummary:
    planned: int
    already_done: int
    to_send: int
    duration_s: float = 0.0
    succeeded: int = 0
    empty: int = 0
    offers: int = 0
    failed_by_reason: Counter[str] = field(default_factory=Counter)
    retries_by_reason: Counter[str] = field(default_factory=Counter)
    endpoints: dict[str, EndpointStats] = field(default_factory=dict)
    outcomes: list[Outcome] = field(default_factory=list, repr=False)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.succeeded:
            self.succeeded += 1
            self.offers += outcome.offers
            if outcome.empty:
                self.empty += 1
        else:
            self.failed_by_reason[outcome.reason or "unknown"] += 1

    @property
    def failed(self) -> int:
        return sum(self.failed_by_reason.values())

    @property
    def sent(self) -> int:
        """HTTP requests sent, retries included."""
        return sum(s.attempts for s in self.endpoints.values())

    @property
    def failure_share(self) -> float:
        """Failed / planned: what is missing from the logical date's data (a rerun that sends only
        the 3 requests still missing and fails them is 3 of 216 missing, not 100 %)."""
        return self.failed / self.planned if self.planned else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "planned": self.planned,
            "already_done": self.already_done,
            "to_send": self.to_send,
            "sent": self.sent,
            "succeeded": self.succeeded,
            "empty": self.empty,
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason),
            "retries_by_reason": dict(self.retries_by_reason),
            "offers": self.offers,
            "duration_s": round(self.duration_s, 2),
            "failure_share": round(self.failure_share, 4),
            "rates": {
                name: {
                    "sent": s.attempts,
                    "achieved_per_minute": None
                    if s.achieved_per_minute is None
                    else round(s.achieved_per_minute, 1),
                    "limit_per_minute": s.per_minute,
                }
                for name, s in self.endpoints.items()
            },
        }

    def lines(self) -> list[str]:
        """The human summary, one fact per line."""
        out = [
            f"planned {self.planned}, done before this run {self.already_done}, to send {self.to_send}",
            f"sent {self.sent} HTTP requests (retries included) in {self.duration_s:.1f} s",
            f"succeeded {self.succeeded} (empty {self.empty}), failed {self.failed}"
            f" ({self.failure_share:.1%}), offers seen {self.offers}",
        ]
        if self.failed_by_reason:
            reasons = ", ".join(f"{r} {n}" for r, n in self.failed_by_reason.most_common())
            out.append(f"failed by reason: {reasons}")
        if self.retries_by_reason:
            reasons = ", ".join(f"{r} {n}" for r, n in self.retries_by_reason.most_common())
            out.append(f"retried: {reasons}")
        for name, stats in self.endpoints.items():
            rate = stats.achieved_per_minute
            shown = "n/a" if rate is None else f"{rate:.0f}/min ({rate / stats.per_minute:.0%} of the limit)"
            out.append(f"{name}: sent {stats.attempts}, rate {shown}, limit {stats.per_minute:g}/min")
        return out
