# dbt: the benchmark of a full build vs an incremental build after one more observation day.
# Data is generated inside the embedded PostgreSQL (under .bench/dbt); results in .bench/dbt_bench.json.
# DBT_BENCH_ARGS="--sizes 200000" for a quick look.

.PHONY: bench-dbt
bench-dbt: venv ## dbt: full vs incremental build at ~1M and ~5M observations; goal incremental <= 10% of full
	$(VENV)/bin/python bench/dbt_bench.py $(DBT_BENCH_ARGS)

.PHONY: bench
bench: bench-dbt
