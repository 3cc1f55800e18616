# Two entry points: `make run` (example pipeline, locally) and `make test` (whole suite);
# contributors also run `make lint` (ruff, ruff format --check, mypy, import-linter contracts).
# Everything they need is installed here, into .venv (Python), ~/.m2 (Delta jars) and
# node_modules/ (Azurite).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.dtflw-installed
DELTA_VERSION := 4.4.0
DELTA_ARTIFACT := io.delta:delta-spark_4.2_2.13:$(DELTA_VERSION)
DELTA_STORAGE := io.delta:delta-storage:$(DELTA_VERSION)
JARS_STAMP := $(VENV)/.dtflw-jars-$(DELTA_VERSION)

.PHONY: setup test test-fast lint format run bench bench-compare bench-core bench-local bench-dag bench-engines bench-backfill bench-catalog jars clean

# Plug-in families add their own set-up steps (SETUP_DEPS) and benchmarks (BENCH_TARGETS).
SETUP_DEPS :=
BENCH_TARGETS := bench-core bench-local bench-dag bench-engines bench-backfill bench-catalog
include $(wildcard mk/*.mk)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml mk/constraints.txt | $(PY)
	$(PY) -m pip install --quiet -c mk/constraints.txt -e ".[local,azure,test,lint]"
	touch $@

# Delta Lake's jars into the local Maven repository, where Spark's resolver finds them.
$(JARS_STAMP): | $(PY)
	mvn --batch-mode --quiet dependency:get -Dtransitive=false -Dartifact=$(DELTA_ARTIFACT)
	mvn --batch-mode --quiet dependency:get -Dtransitive=false -Dartifact=$(DELTA_STORAGE)
	touch $@

jars: $(JARS_STAMP)

setup: $(STAMP) $(JARS_STAMP) $(SETUP_DEPS)

# The whole suite on the default engine (local), then the `engines` tests on Spark Connect and Sail.
test: setup
	$(PY) -m pytest -q
	$(PY) -m pytest -q -m engines --dtflw-engine connect
	$(PY) -m pytest -q -m engines --dtflw-engine sail

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not spark and not azurite"

# Static checks: lint, formatting, types and the one-way layers (see pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

run: setup
	$(VENV)/bin/dtflw run examples/sales/main.py

bench-core: $(STAMP)
	$(PY) bench/bench_core.py

BENCH_STAMP := $(VENV)/.dtflw-bench-installed
$(BENCH_STAMP): pyproject.toml | $(STAMP)
	$(PY) -m pip install --quiet -c mk/constraints.txt -e ".[local,azure,test,bench]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

bench-local: setup $(BENCH_STAMP)
	$(PY) bench/bench_local.py

bench-dag: setup
	$(PY) bench/bench_dag.py

# A 90-value backfill on FakeDbutils: planning, wall vs the best possible, one-new-value re-run.
bench-backfill: $(STAMP)
	$(PY) bench/bench_backfill.py

# The catalogue over 1,000 runs x 50 notebooks of history: load and answer, from files and indexed.
bench-catalog: $(STAMP)
	$(PY) bench/bench_catalog.py

# The bench-local pipelines and examples/sales on the local, connect and sail engines.
bench-engines: setup
	$(PY) bench/bench_engines.py

# Benchmarks of this tree against another revision: make bench-compare BASE=<git ref>
BASE ?= HEAD
bench-compare: setup
	$(PY) bench/compare.py $(BASE)

bench: $(BENCH_TARGETS)

clean:
	rm -rf $(VENV) .pytest_cache .dtflw-run
