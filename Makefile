# Two commands matter: `make run` and `make test`. Both install what is missing into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint format bench clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/flask --app wsgi setup
	exec $(BIN)/python scripts/serve

# The browser tests' accessibility audit injects axe-core (pinned in tests/browser/package.json).
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts --silent && touch $@; \
	  else echo "npm is missing: the accessibility audit will be skipped" >&2; fi

test: install $(AXE)
	$(BIN)/pytest $(PYTEST_ARGS) || { rc=$$?; \
	  [ $$rc -eq 5 ] && echo "pytest collected no tests: the suite is broken" >&2; exit $$rc; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache
