#!/usr/bin/env bash
# Start PostgreSQL and Redis for the integration tests when they are installed but not running (`make test`, `.ci/run`).
# Never fails: a service that cannot be started is reported, and the test run then skips its tests with the reason
# (or, with CI=true, fails: see tests/conftest.py).
set -uo pipefail

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_lsclusters >/dev/null 2>&1 && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    version="$(pg_lsclusters -h | awk 'NR==1{print $1}')"
    cluster="$(pg_lsclusters -h | awk 'NR==1{print $2}')"
    start=(pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start)
    if [ "$(id -u)" != "0" ]; then
      start=(sudo -n "${start[@]}")  # the cluster belongs to the postgres user: root may start it
    fi
    echo "starting PostgreSQL $version/$cluster"
    if "${start[@]}"; then
      for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
    else
      echo "could not start PostgreSQL; start it yourself: sudo pg_ctlcluster $version $cluster start"
    fi
  else
    echo "PostgreSQL is not installed (apt-get install postgresql postgresql-client): integration tests need it"
  fi
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "starting Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
  else
    echo "Redis is not installed (apt-get install redis-server): integration tests need it"
  fi
fi
exit 0
