# SecureDesk: the two commands a new user needs are `make run` and `make test`.
# Both create their own virtual environment and install everything they need.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: run test lint typecheck layers unit e2e bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: set up and start the gateway on embedded defaults
run: $(STAMP)
	$(BIN)/securedesk redact docs/sample-chat.txt

## test: set up and run linters, type checks, layer contracts and the whole test suite
test: $(STAMP)
	$(BIN)/ruff check securedesk tests bench
	$(BIN)/mypy --strict securedesk
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
