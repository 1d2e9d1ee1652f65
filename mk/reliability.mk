# Reliability (issue 10): the cross-cutting suite (faults survived, hostile input, secrets,
# hardening) and the load benchmark. Schemathesis comes with the dev group in .venv.

RELIABILITY_ARGS ?=
LOAD_BENCH_ARGS ?=
LOAD_BENCH_SIZES ?= 10000,100000,1000000

.PHONY: test-reliability
test-reliability: venv ci-tools ## reliability suite: SIGKILLs, store/DB restarts, storms, disk full, fuzzing, secrets (<= 12 min)
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/reliability $(RELIABILITY_ARGS)

.PHONY: bench-load
bench-load: venv ## proxy 60 s at concurrency 1/4/16/64 from a second process, RAW on FerretDB: req/s, p50/p99, errors, RAW == 200s
	$(VENV)/bin/python bench/load_bench.py $(LOAD_BENCH_ARGS)

# How cost grows with data: the loader alone and dbt at the same sizes (not in `bench`: bench-loader
# and bench-dbt already run there, with their comparisons). Add 5000000 to the sizes for 5M.
comma := ,
.PHONY: bench-scaling
bench-scaling: venv ## loader and dbt at 10k/100k/1M tickets: time, rows/s, peak RSS (LOAD_BENCH_SIZES)
	$(VENV)/bin/python bench/loader_bench.py --contestants loader --sizes $(LOAD_BENCH_SIZES)
	$(VENV)/bin/python bench/dbt_bench.py --sizes $(subst $(comma), ,$(LOAD_BENCH_SIZES))

.PHONY: bench
bench: bench-load
