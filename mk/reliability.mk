# Reliability (issue 10): the cross-cutting suite (faults survived, hostile input, secrets,
# hardening) and the load benchmark. Schemathesis lives in a side venv until the root dev group
# has it (then the suite finds .venv/bin/schemathesis first).

ST_VENV ?= /tmp/tickettrak-st-venv
RELIABILITY_ARGS ?=
LOAD_BENCH_ARGS ?=
LOAD_BENCH_SIZES ?= 10000,100000,1000000

$(ST_VENV)/bin/schemathesis:
	$(UV) venv $(ST_VENV) --python $(PYTHON) -q
	$(UV) pip install --python $(ST_VENV)/bin/python -q schemathesis

.PHONY: test-reliability
test-reliability: venv $(ST_VENV)/bin/schemathesis ## reliability suite: SIGKILLs, store/DB restarts, storms, disk full, fuzzing, secrets (<= 12 min)
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/reliability $(RELIABILITY_ARGS)

.PHONY: bench-load
bench-load: venv ## proxy 60 s at rising concurrency (RAW on FerretDB); loader + dbt at 10k/100k/1M tickets
	$(VENV)/bin/python bench/load_bench.py $(LOAD_BENCH_ARGS)
	$(VENV)/bin/python bench/loader_bench.py --contestants loader --sizes $(LOAD_BENCH_SIZES)
	$(VENV)/bin/python bench/dbt_bench.py --sizes $(subst $(comma), ,$(LOAD_BENCH_SIZES))

comma := ,

.PHONY: bench
bench: bench-load
