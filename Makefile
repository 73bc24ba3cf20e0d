# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?=

.PHONY: run test token openapi bench clean help

help:
	@echo "make run         start the broker and the four services on SQLite under var/ (DEMO=1 loads a demo county)"
	@echo "make test        run the whole test suite (PostgreSQL too, when 127.0.0.1:5432 answers)"
	@echo "make token ROLE=county_official ORG=410122 [CLASSES=id,id]   a development bearer token"
	@echo "make openapi     write each service's OpenAPI document to var/openapi/ (for generating a typed client)"
	@echo "make bench       run every benchmark in bench/ and print the figures (BENCH=detector runs one, BENCH_ARGS=\"--backend sqlite\")"
	@echo "make clean       remove var/ and the virtualenv"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $@

run: $(STAMP)
	$(BIN)/python -m devtools.stack $(if $(DEMO),--demo,)

# The suite on PYTEST_WORKERS processes (each test has its own broker, ports and databases), then
# the tests that race against time or break processes on purpose (markers in pyproject.toml)
# alone, so no other test takes their cores. Both parts run; either failing, or selecting no test
# (pytest's 5), fails. PYTEST_ARGS replaces both with one plain run of pytest.
PYTEST_WORKERS ?= 2
ALONE := e2e or faults or timing
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
ifeq ($(strip $(PYTEST_ARGS)),)
	rc=0; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not ($(ALONE))" || rc=$$?; \
	$(BIN)/python -m pytest -m "$(ALONE)" || rc=$$?; \
	exit $$rc
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

openapi: $(STAMP)
	@$(BIN)/python -m devtools.openapi

BENCH ?= $(basename $(notdir $(filter-out bench/__init__.py bench/harness.py,$(wildcard bench/*.py))))
bench: $(STAMP)
	@for b in $(BENCH); do echo "== bench/$$b.py"; $(BIN)/python -m bench.$$b $(BENCH_ARGS) || exit 1; done

token: $(STAMP)
	@$(BIN)/python -m devtools.token --role "$(ROLE)" --org "$(ORG)" --classes "$(CLASSES)"

clean:
	rm -rf var $(VENV)
