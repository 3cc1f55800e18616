# Azure backend: the Azurite storage emulator (npm package pinned in package.json and
# package-lock.json, installed into node_modules/) for the Azure tests and benchmark.
# Included by the top-level Makefile, which runs the tests (`make test`) and benchmarks.

AZURITE := node_modules/.bin/azurite

SETUP_DEPS += $(AZURITE)
BENCH_TARGETS += bench-azure

.PHONY: bench-azure

$(AZURITE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

bench-azure: $(STAMP) $(AZURITE)
	$(PY) bench/bench_azure.py
