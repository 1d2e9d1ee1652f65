# Loader: the benchmark of `tickettrak load` against a row-by-row INSERT loader, dlt and a bare COPY.
# (The loader's tests run with `make test`: tests/unit/loader, tests/integration/loader.)
# dlt is installed into a throwaway venv (never a project dependency); the bench skips it if absent.

# loader and bare COPY three times each (the table adds medians), the slow contestants once.
LOADER_BENCH_ARGS ?= --sizes 10000,100000,1000000 --time-cap 400 \
	--contestants loader,bare_copy,dlt,row_by_row,loader,bare_copy,loader,bare_copy
DLT_VENV ?= /tmp/tickettrak-dlt-venv

$(DLT_VENV)/bin/python:
	@$(ENSURE_UV)
	$(UV) venv $(DLT_VENV) --python $(PYTHON) -q
	$(UV) pip install --python $(DLT_VENV)/bin/python -q "dlt[postgres]"

.PHONY: bench-loader
bench-loader: venv $(DLT_VENV)/bin/python ## loader: rows/s and peak RSS vs row-by-row INSERT, dlt and bare COPY (10k/100k/1M tickets)
	DLT_PYTHON=$(DLT_VENV)/bin/python $(VENV)/bin/python bench/loader_bench.py $(LOADER_BENCH_ARGS)

.PHONY: bench
bench: bench-loader
