# Curvehouse: `make run` serves the app on demo data, `make test` checks everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 5006

.PHONY: run test bench lint format demo clean-demo info clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The demo plant publishes live parts too (CURVEHOUSE_SIMULATE=0 make run: the stored demo only).
run: $(STAMP)
	$(BIN)/curvehouse demo --if-missing
	CURVEHOUSE_SIMULATE=$${CURVEHOUSE_SIMULATE:-1} $(BIN)/curvehouse serve --port $(PORT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --run=all -n 2 --dist loadfile --durations=30 \
		--junitxml=artifacts/junit.xml

bench: $(STAMP)
	CURVEHOUSE_BENCH_SIZE=full $(BIN)/python -m pytest benchmarks --run=all \
		--benchmark-enable --benchmark-columns=median,iqr,rounds -s

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
