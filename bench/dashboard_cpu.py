"""Benchmark: server CPU of a cached port dashboard and its JSON, against a bare Django view in the same process.

    .venv/bin/python bench/dashboard_cpu.py                    # SQLite file bench/out/dashboard.sqlite3 (demo data)
    .venv/bin/python bench/dashboard_cpu.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    CACHE_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/dashboard_cpu.py   # shared cache, cached_db sessions

In one process, through Django's whole middleware stack (the test client: what it costs itself is in every figure,
the floor's included), a management user signed in: per URL a warm-up, then the median of 5 batches of
``--requests`` requests of CPU time (``time.process_time``) and the queries of one request. Goals
(DESIGN.md §5): a cached page ≤ 2 ms and ≤ 8 × the floor, its JSON ≤ 1 ms and ≤ 4 ×, ≤ 2 queries; the first view
after a recompute ≤ 300 ms (the recompute warms what it made cold: the figure is the first request after
``metrics_compute``, beside the same page rendered cold).

The floor is a bare JSON view (``{"ok": true}``) behind the same middleware, anonymous; the same view signed in
is shown beside it (what the session, the cached user and the versions query cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server (any database on it); default: SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep the existing benchmark database")
    parser.add_argument("--extra-projects", type=int, default=0)
    parser.add_argument("--port", default="property")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()

    from bench.dashboard_load import USERNAME, database_env, prepare_database

    sizes = prepare_database(args, database_env(args))
    from django.conf import settings
    from django.contrib.auth.decorators import login_not_required
    from django.db import connection
    from django.http import JsonResponse
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import include, path

    @login_not_required
    def bare(request):
        return JsonResponse({"ok": True})

    urls = types.ModuleType("bench_urls")
    # Public (login_not_required, like the health checks), so that the anonymous floor is served, not redirected.
    urls.urlpatterns = [path("healthz-bare/", bare), path("", include("config.urls"))]
    sys.modules["bench_urls"] = urls
    settings.ROOT_URLCONF = "bench_urls"
    settings.ALLOWED_HOSTS = ["*"]

    from django.contrib.auth.models import User

    from satisfaction.services import metrics_compute
    from surveys.models import Survey

    client = Client()
    client.force_login(User.objects.get(username=USERNAME))
    anonymous = Client()
    survey = sizes["survey"]
    page = f"/dashboards/ports/{args.port}/?survey={survey}"
    data = f"/dashboards/ports/{args.port}/data.json?survey={survey}"

    def cpu_per_request(who, url: str) -> float:
        for _ in range(30):
            assert who.get(url).status_code == 200, url
        batches = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(args.requests):
                who.get(url)
            batches.append((time.process_time() - started) * 1000 / args.requests)
        return statistics.median(batches)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        return len(captured)

    def cold_ms(url: str) -> float:
        from core.versions import DATA, versions_bump

        times = []
        for _ in range(5):
            versions_bump(DATA)
            started = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)

    print(f"database {connection.vendor}, cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}, "
          f"sessions {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}; {sizes['responses']:,} responses; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of 5 × {args.requests} requests")
    floor = cpu_per_request(anonymous, "/healthz-bare/")
    signed_in = cpu_per_request(client, "/healthz-bare/")
    print(f"  floor: bare JSON view, anonymous                 {floor:6.2f} ms CPU")
    print(f"  the same view signed in (session, user, versions) {signed_in:6.2f} ms CPU = {signed_in / floor:4.1f} × floor, "
          f"{queries('/healthz-bare/')} queries")
    for label, url, goal, times in (("port page, cached", page, 2.0, 8), ("its JSON, cached", data, 1.0, 4)):
        cpu = cpu_per_request(client, url)
        n = queries(url)
        ok = cpu <= goal and cpu <= times * floor and n <= 2
        print(f"  {label:<48} {cpu:6.2f} ms CPU = {cpu / floor:4.1f} × floor, {n} queries  "
              f"(goal ≤ {goal:g} ms, ≤ {times} × floor, ≤ 2 queries: {'met' if ok else 'MISSED'})")
    print(f"  port page rendered cold (data version moved, no warming)   {cold_ms(page):6.1f} ms wall")
    client.get(page)
    client.get(data)
    survey_id = Survey.objects.get(code=survey).pk
    firsts, recomputes = [], []
    for _ in range(3):
        started = time.perf_counter()
        metrics_compute(survey_id=survey_id)  # what the worker runs: rewrite the snapshots, then warm
        recomputes.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert client.get(page).status_code == 200
        firsts.append((time.perf_counter() - started) * 1000)
    first = statistics.median(firsts)
    print(f"  first view after a recompute (the task warmed it)          {first:6.1f} ms wall  "
          f"(goal ≤ 300 ms: {'met' if first <= 300 else 'MISSED'}; recompute + warming {statistics.median(recomputes):.2f} s)")


if __name__ == "__main__":
    main()
