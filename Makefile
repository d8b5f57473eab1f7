# The two commands: `make run` (serve the app with demo data) and `make test` (run the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test test-unit test-integration lint chromium clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-installed: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet -r requirements-test.txt
	touch $@

run: $(VENV)/.installed
	./scripts/run-embedded.sh

# Debian's Chromium and CJK fonts for the browser tests (Playwright cannot download its own browser here).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; \
		else echo "install chromium and fonts-noto-cjk (apt-get) for the browser tests"; fi; \
	fi

test: $(VENV)/.test-installed chromium
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || (echo "models changed without a migration" && exit 1)
	$(PY) -m ruff check .
	$(PY) -m pytest -m "not integration"
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m integration

test-unit: $(VENV)/.test-installed
	$(PY) -m pytest -m "not integration and not browser"

test-integration: $(VENV)/.test-installed
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m integration

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles test-artifacts
