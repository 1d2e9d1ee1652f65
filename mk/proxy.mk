# Proxy: its benchmark, a local server, and a FerretDB that starts (for the RAW tests over the
# MongoDB wire protocol). `make help` lists the targets.

PROXY_BENCH_ARGS ?=

.PHONY: bench-proxy
bench-proxy: venv ## proxy: client->sandbox vs client->proxy->sandbox, RAW on FerretDB and embedded; goal FerretDB < 5 ms added p50, >= 300 req/s
	$(VENV)/bin/python bench/proxy_bench.py $(PROXY_BENCH_ARGS)

.PHONY: bench
bench: bench-proxy

.PHONY: proxy
proxy: venv ## serve the proxy on :8080 (embedded RAW store unless TICKETTRAK_MONGO_URI is set)
	$(TT) proxy --port 8080
