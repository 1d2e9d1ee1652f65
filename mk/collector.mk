# Collector: the benchmark of how fully `tickettrak collect` uses an endpoint's per-minute limit.
# (The collector's tests run with `make test`: tests/unit/collector, tests/integration/collector.)

COLLECTOR_BENCH_ARGS ?=

.PHONY: bench-collector
bench-collector: venv ## collector: 1,000 requests at 600/min through sandbox + proxy (~105 s); goal <= 1.1x the allowed time, no 429 failures
	$(VENV)/bin/python bench/collector_bench.py $(COLLECTOR_BENCH_ARGS)

.PHONY: bench
bench: bench-collector
