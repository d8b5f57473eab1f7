#!/usr/bin/env bash
# The embedded default: SQLite, a Celery worker on the filesystem transport (no service to install), runserver.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-filesystem://}"
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"

$PY manage.py migrate --noinput
$PY manage.py seed_demo --if-empty
$PY manage.py seed_demo_plans
$PY manage.py seed_demo_feedback --if-empty
$PY manage.py demo_logins

$PY -m celery -A config worker --pool=solo --without-mingle --without-gossip --without-heartbeat \
  --loglevel=WARNING &
WORKER=$!
$PY -m celery -A config beat --loglevel=WARNING --schedule var/celerybeat-schedule &
BEAT=$!
trap 'kill $WORKER $BEAT 2>/dev/null || true' EXIT INT TERM
echo "Serving on http://127.0.0.1:8000/  (Ctrl-C stops web, worker and beat)"
$PY manage.py runserver 127.0.0.1:8000 --noreload
