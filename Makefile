# Two commands matter: `make run` and `make test`. Both install what is missing into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install run test cov lint format bench clean

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@echo "Installing the app and its dependencies into $(VENV) (the first time takes a minute or two)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade pip
	@$(BIN)/python -m pip install -qq -e '.[test]'
	@touch $@

run: install
	@$(BIN)/flask --app wsgi setup
	@exec $(BIN)/python scripts/serve

# The browser tests' accessibility audit injects axe-core (pinned in tests/browser/package.json).
AXE := tests/browser/node_modules/axe-core/axe.min.js

$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts --silent && touch $@; \
	  else echo "npm is missing: the accessibility audit will be skipped" >&2; fi

# The local PostgreSQL and Redis join the run when they answer (scripts/test_services).
test: install $(AXE)
	@eval "$$($(BIN)/python scripts/test_services)"; \
	$(BIN)/pytest $(PYTEST_ARGS) || { rc=$$?; \
	  [ $$rc -eq 5 ] && echo "pytest collected no tests: the suite is broken" >&2; exit $$rc; }

# The suite with a coverage report of the code it ran in-process (not the gunicorn children).
cov: install
	@eval "$$($(BIN)/python scripts/test_services)"; \
	$(BIN)/pytest --cov=app --cov=mcp_listings --cov=mcp_analytics \
	  --cov-report=term-missing:skip-covered $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python -m bench --save $(BENCH_ARGS)

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) instance .pytest_cache .coverage
