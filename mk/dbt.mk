# dbt: the benchmark of a full build vs incremental builds after one more observation day each.
# Data is generated inside the embedded PostgreSQL (under .bench/dbt); results in .bench/dbt_bench.json:
# wall times (median of 3 incremental runs), models/tests split, peak memory of dbt and PostgreSQL.
# DBT_BENCH_ARGS="--sizes 200000" for a quick look; "--project DIR" to measure another revision's project.

.PHONY: bench-dbt
bench-dbt: venv ## dbt: full vs incremental build at ~1M and ~5M observations; goal incremental <= 10% of full
	$(VENV)/bin/python bench/dbt_bench.py $(DBT_BENCH_ARGS)

.PHONY: bench
bench: bench-dbt
