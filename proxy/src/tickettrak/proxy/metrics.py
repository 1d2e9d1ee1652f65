"""Prometheus metrics of one proxy process (its own registry, so several apps can live in one test)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ProxyMetrics:
    """The proxy's metrics; the labelled series of the hot path are looked up once and kept."""

    def __init__(self) -> None:
        self._children: dict[tuple[object, ...], Any] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tickettrak_proxy_requests",
            "Requests answered on the Data API paths, by endpoint and HTTP status returned.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "tickettrak_proxy_rejected",
            "Requests answered without an upstream call, by reason "
            "(invalid_request, rate_limited, raw_unavailable).",
            ["endpoint", "reason"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "tickettrak_proxy_upstream_seconds",
            "Duration of upstream exchanges, by endpoint and outcome (HTTP status or error kind).",
            ["endpoint", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.raw_write_seconds = Histogram(
            "tickettrak_proxy_raw_write_seconds",
            "Duration of one acknowledged RAW batch write.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.raw_batch_size = Histogram(
            "tickettrak_proxy_raw_batch_documents",
            "Documents per RAW write (group commit under load).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.raw_store_up = Gauge(
            "tickettrak_proxy_raw_store_up",
            "1 when the last RAW store operation succeeded.",
            registry=self.registry,
        )

    def _child(self, metric: Counter | Histogram, *labels: str) -> Any:
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def count_request(self, endpoint: str, status: int) -> None:
        self._child(self.requests, endpoint, str(status)).inc()

    def count_rejected(self, endpoint: str, reason: str) -> None:
        self._child(self.rejected, endpoint, reason).inc()

    def observe_upstream(self, endpoint: str, outcome: str, seconds: float) -> None:
        self._child(self.upstream_seconds, endpoint, outcome).observe(seconds)
