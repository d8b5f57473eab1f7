"""Benchmark: what the alert rules cost per changed response, and per sweep, as a survey grows.

    .venv/bin/python bench/alert_scan.py [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--responses 200000]

In its own PostgreSQL database (``csm_bench_alerts``, seeded by ``seed_scale`` when missing), with the three default
rules: the first sweep opens a ticket for every low response already there (reported, not a goal); then, median of
``--repeat``: (a) the task one keyed 1/1/1 response queues — ``alerts_run`` with that response's (project, answers)
pair — which must not grow with the survey; (b) the hourly sweep (only what changed in the last two hours); (c) once, a
full re-read (``changed=None``: every low response, all already ticketed — what a large import's run costs). Baseline in the same run: a bare ``count(*)`` of the survey's responses (one pass over its rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "csm_bench_alerts"
SURVEY = "bench-alerts"


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--responses", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import psycopg

    with psycopg.connect(args.database_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = args.database_url.rsplit("/", 1)[0] + "/" + DATABASE
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in [k for k in os.environ if k.startswith("CELERY_")]:
        del os.environ[name]

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from followup.models import Ticket
    from followup.services import alerts_run
    from owners.models import Owner
    from surveys.models import Response, Survey
    from surveys.services import response_submit

    call_command("migrate", verbosity=0)
    survey = Survey.objects.filter(code=SURVEY).first()
    if survey is None or Response.objects.filter(survey=survey).count() < args.responses:
        started = time.perf_counter()
        call_command("seed_scale", survey=SURVEY, responses=args.responses, projects=20, replace=True)
        Ticket.objects.all().delete()
        print(f"seeded {args.responses:,} responses: {time.perf_counter() - started:.1f} s")
        survey = Survey.objects.get(code=SURVEY)
    n = Response.objects.filter(survey=survey).count()
    print(f"survey {SURVEY}: {n:,} responses; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"median of {args.repeat}")

    started = time.perf_counter()
    opened = len(alerts_run(survey_id=survey.pk, now=timezone.now()))
    print(f"  first sweep: opened {opened:,} tickets for the low responses already there   "
          f"{time.perf_counter() - started:7.2f} s (once)")

    def bare_count():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM surveys_response WHERE survey_id = %s", [survey.pk])
            return cursor.fetchone()[0]

    baseline, _ = timed(bare_count, args.repeat)
    print(f"  baseline: count(*) of the survey's responses                              {baseline * 1000:8.1f} ms")

    project = Response.objects.filter(survey=survey).order_by("id").first().project
    owner, _ = Owner.objects.get_or_create(project=project, unit="BENCH-1", name="基准业主")
    codes = list(survey.questions.order_by("position").values_list("code", flat=True))
    response, _ = response_submit(survey=survey, owner=owner, questionnaire_no=f"BENCH-{owner.pk}",
                                  surveyed_on=timezone.localdate(), scores={code: 1 for code in codes})
    pair = [(response.project_id, response.answers)]

    def one_keyed():
        Ticket.objects.filter(response=response).delete()
        return len(alerts_run(survey_id=survey.pk, changed=pair, now=timezone.now()))

    keyed, tickets = timed(one_keyed, args.repeat)
    print(f"  (a) one keyed 1/1/1 response: its alert run ({tickets} tickets)              {keyed * 1000:8.1f} ms "
          f"= {keyed / baseline:.2f} × baseline")
    # As a live survey's rows are: everything but the keyed response changed days ago.
    Response.objects.filter(survey=survey).exclude(pk=response.pk).update(
        updated_at=timezone.now() - timedelta(days=3))
    hourly, _ = timed(lambda: len(alerts_run(survey_id=survey.pk, now=timezone.now(),
                                             updated_since=timezone.now() - timedelta(hours=2))), args.repeat)
    print(f"  (b) the hourly sweep (low responses changed in the last 2 h)              {hourly * 1000:8.1f} ms "
          f"= {hourly / baseline:.2f} × baseline")
    full, reopened = timed(lambda: len(alerts_run(survey_id=survey.pk, now=timezone.now())), 1)
    print(f"  (c) a full re-read of every low response, all ticketed (opened {reopened})      {full * 1000:8.1f} ms "
          f"= {full / baseline:.2f} × baseline (a big import's run; once)")


if __name__ == "__main__":
    main()
