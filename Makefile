# The two commands: `make run` (serve the app with demo data) and `make test` (run the whole suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The integration tests' PostgreSQL: a role that may create databases (they make and drop their own), e.g.
# `make test PG_SERVER=postgres://postgres:secret@127.0.0.1:5432` when loopback connections need a password.
PG_SERVER ?= postgres://postgres@127.0.0.1:5432
PG_TEST_URL ?= $(PG_SERVER)/test
INTEGRATION_ENV := DATABASE_URL=$(PG_TEST_URL) TEST_POSTGRES_SERVER=$(PG_SERVER) TEST_POSTGRES_URL=$(PG_TEST_URL)
# Extra pytest arguments for both passes, e.g. `make test PYTEST_ARGS=-x`.
PYTEST_ARGS ?=
# Each pytest pass appends here what it skipped for want of a service; the last step says it again.
SKIPPED := test-artifacts/not-run.txt

.PHONY: run test test-unit test-integration lint test-packages services clean

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

# Debian packages the tests use, installed when missing if run as root: Debian's Chromium and CJK fonts for the
# browser tests (Playwright cannot download its own browser here), gettext (msgfmt), poppler-utils (PDF to text and
# images), zbar-tools (zbarimg decodes the QR codes on printed sheets back to their links).
# PostgreSQL and Redis are not installed here: see README "Setting up a machine".
test-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || missing="$$missing fonts-noto-cjk"; \
	command -v msgfmt >/dev/null 2>&1 || missing="$$missing gettext"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v zbarimg >/dev/null 2>&1 || missing="$$missing zbar-tools"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "missing for the tests:$$missing (sudo apt-get install$$missing)"; fi; \
	fi

# PostgreSQL and Redis for the integration tests, started when installed but not running.
services:
	@./scripts/test-services.sh

test: $(VENV)/.test-installed test-packages services
	@mkdir -p test-artifacts && rm -f $(SKIPPED)
	$(PY) manage.py makemigrations --check --dry-run >/dev/null || (echo "models changed without a migration" && exit 1)
	$(PY) -m ruff check .
	CSM_SKIPPED_FILE=$(SKIPPED) $(PY) -m pytest -m "not integration" $(PYTEST_ARGS)
	CSM_SKIPPED_FILE=$(SKIPPED) $(INTEGRATION_ENV) $(PY) -m pytest -m integration $(PYTEST_ARGS)
	@if [ -s $(SKIPPED) ]; then \
		echo; echo "!!!!! make test passed, but NOT everything ran (outside CI a missing service skips its tests):"; \
		sed 's/^/!!!!!   /' $(SKIPPED); echo "!!!!! see README \"Setting up a machine\"; with CI=true this fails the run."; \
	fi

test-unit: $(VENV)/.test-installed
	$(PY) -m pytest -m "not integration and not browser"

test-integration: $(VENV)/.test-installed services
	$(INTEGRATION_ENV) $(PY) -m pytest -m integration

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) var db.sqlite3 staticfiles test-artifacts
