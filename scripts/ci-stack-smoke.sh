#!/usr/bin/env bash
# The CI stack job on its own: gunicorn + Celery worker + beat on loopback against PostgreSQL and Redis, one
# clerk's journey over HTTP (tests/test_production_stack.py; `make test` runs it in its integration pass).
set -euo pipefail
cd "$(dirname "$0")/.."
DATABASE_URL="${PG_TEST_URL:-postgres://postgres@127.0.0.1:5432/test}" \
  exec .venv/bin/python -m pytest -m integration tests/test_production_stack.py "$@"
