# ewb: two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint check services tools install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Migrate the SQLite database under var/, load the Xiangshui areas with sample population,
# terminals and officers, the demo users and sample residents, and serve on :8080.
run: $(STAMP)
	$(BIN)/ewb db upgrade
	$(BIN)/ewb areas load config/xiangshui_divisions.csv
	$(BIN)/ewb areas load config/extra_areas.csv
	$(BIN)/ewb areas population config/area_population_sample.csv
	$(BIN)/ewb terminals load config/terminals_sample.csv
	$(BIN)/ewb officers load config/officers_sample.csv
	$(BIN)/ewb demo --setup-only --residents 5000
	@echo "The main job end to end (its own database var/demo.db): $(BIN)/ewb demo [--residents N]"
	$(BIN)/ewb serve

# Start the services the tests need where they are not running, install the test tools
# (espeak-ng, Prism), lint, type-check, run the suite.
test: $(STAMP) services tools lint
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

services:
	scripts/services.sh

tools:
	scripts/test-tools.sh

clean:
	rm -rf $(VENV) var .tools .pytest_cache .mypy_cache .ruff_cache
