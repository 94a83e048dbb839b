# SecureDesk: the two commands a new user needs are `make run` and `make test`.
# Both create their own virtual environment and install everything they need.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

CHROMIUM = /usr/bin/chromium

.PHONY: run demo-redact test lint typecheck layers unit e2e bench chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## run: set up and start the gateway on embedded defaults (`securedesk serve` runs `init` on first start)
run: $(STAMP)
	$(BIN)/securedesk serve

## demo-redact: redact the sample chat transcript and print it
demo-redact: $(STAMP)
	$(BIN)/securedesk redact docs/sample-chat.txt

## test: set up and run linters, type checks, layer contracts and the whole test suite
test: $(STAMP) chromium
	$(BIN)/ruff check securedesk tests bench
	$(BIN)/ruff format --check securedesk tests
	$(BIN)/mypy --strict securedesk
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

e2e: $(STAMP) chromium
	$(BIN)/python -m pytest -q tests/e2e

## chromium: Debian's chromium for the browser tests (Playwright drives it; no browser is ever downloaded)
chromium: $(CHROMIUM)

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests (apt-get)..."
	@log=$$(mktemp); \
	if (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium) \
	    >"$$log" 2>&1; then rm -f "$$log"; \
	else cat "$$log" >&2; rm -f "$$log"; \
	    echo "error: could not install chromium with apt-get (output above; it needs root); the browser tests need $(CHROMIUM)" >&2; \
	    exit 1; fi
	@test -x $(CHROMIUM) || { echo "error: chromium was installed but $(CHROMIUM) is missing" >&2; exit 1; }

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
