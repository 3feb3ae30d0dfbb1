# Curvehouse: `make run` serves the app on demo data, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5006

.PHONY: run broker kernels test bench bench-import lint format demo clean-demo info clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The curve kernels compiled into numba's cache, two at a time (about 70 s on a fresh 2-core
# machine, 4 s when cached): otherwise the first views and every test process compile them.
kernels: $(STAMP)
	$(BIN)/python -m pipelines.warm

# Live ingest runs its own broker, Debian's mosquitto: installed here when missing and this is
# Debian as root; else `make run` serves without live ingest and says how to add it.
broker:
	@command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's mosquitto, the broker live ingest runs (once)..."; \
	    { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
	      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients \
	      >/dev/null; } || echo "Could not install mosquitto: live ingest stays off."; \
	  else \
	    echo "mosquitto is not installed: live ingest stays off (sudo apt install mosquitto)."; \
	  fi; }

# The demo plant publishes live parts too (CURVEHOUSE_SIMULATE=0 make run: the stored demo only).
run: $(STAMP) broker kernels
	$(BIN)/curvehouse demo --if-missing
	CURVEHOUSE_SIMULATE=$${CURVEHOUSE_SIMULATE:-1} $(BIN)/curvehouse serve --port $(PORT)

test: $(STAMP) kernels
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --run=all -n 2 --dist loadfile --durations=30 \
		--junitxml=artifacts/junit.xml

bench: $(STAMP) kernels
	CURVEHOUSE_BENCH_SIZE=full $(BIN)/python -m pytest benchmarks --run=all \
		--benchmark-enable --benchmark-columns=median,iqr,rounds --durations=20 -s

# Issue 19's reading: 21 interleaved rounds of the import with and without features, whose
# 95 % interval is narrow enough to hold against the 10 % limit (about two minutes).
bench-import: $(STAMP) kernels
	CURVEHOUSE_BENCH_SIZE=full CURVEHOUSE_BENCH_IMPORT_ROUNDS=21 $(BIN)/python -m pytest \
		benchmarks/test_import_features.py --run=all --benchmark-enable -s

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)
	$(BIN)/curvehouse demo --if-missing

info: $(STAMP)
	$(BIN)/curvehouse info

clean-demo: $(STAMP)
	$(BIN)/curvehouse clean-demo

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .benchmarks artifacts
