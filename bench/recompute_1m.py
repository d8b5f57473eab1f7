"""Benchmark: recompute every slice of a 1,000,000-response survey from PostgreSQL (goal ≤ 2 s, read included).

    .venv/bin/python bench/recompute_1m.py                       # server postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/recompute_1m.py --database-url postgres://user@host:5432/postgres --repeat 5

Works in its own database ``csm_bench_recompute`` on that server (created and migrated if missing, seeded with
``seed_scale --responses 1000000 --projects 20`` once and then reused; ``--reseed`` starts over). Prints, each the
median of ``--repeat`` runs:

- the production path, ``metrics_compute`` (one task): binary COPY of the answer strings, the numpy engine,
  replace the snapshots and the per-cell counts in one transaction (both written by COPY) — and its parts, with
  the CSV COPY read beside the binary one; beside it the floor of the same run: the bare COPY of the same rows
  into a byte buffer (no parsing, no counting, no writing), and the ratio;
- the partitioned path (``metrics_partial_compute`` per group of projects, ``metrics_combine_partials``): the
  total work, and the wall time with the groups counted by 2 processes at once (as 2 workers would);
- baseline 1, the same engine fed by the Django ORM (``values_list`` iteration instead of COPY);
- baseline 2, the storage layout not chosen: one row per answer (24 million rows), the counts by SQL GROUP BY
  (counts only — no drivers), and the two layouts' sizes on disk.

Everything stays on loopback; nothing outside the benchmark's database is touched.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "csm_bench_recompute"
SURVEY = "bench-1m"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--skip-baselines", action="store_true", help="only the production and partitioned paths")
    return parser.parse_args()


def prepare_database(server_url: str, reseed: bool) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = server_url.rsplit("/", 1)[0] + "/" + DATABASE
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    for name in [k for k in os.environ if k.startswith("CELERY_")]:
        del os.environ[name]  # in-process: nothing is queued anywhere


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _partial_in_child(args: tuple[int, list[int]]) -> dict:
    import django

    django.setup()
    from satisfaction.services import metrics_partial_compute

    survey_id, project_ids = args
    return metrics_partial_compute(survey_id=survey_id, project_ids=project_ids)


def main() -> None:
    args = parse()
    prepare_database(args.database_url, args.reseed)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from satisfaction.metrics.engine import compute_survey_metrics
    from satisfaction.selectors import survey_frame, survey_question_specs
    from satisfaction.services import (
        metrics_combine_partials,
        metrics_compute,
        metrics_partial_compute,
        metrics_partition_plan,
        metrics_write_snapshots,
    )
    from surveys.answers import NOT_ANSWERED, decode_answer_matrix
    from surveys.models import Response, Survey

    call_command("migrate", verbosity=0)
    survey = Survey.objects.filter(code=SURVEY).first()
    count = Response.objects.filter(survey=survey).count() if survey else 0
    if count != args.responses:
        started = time.perf_counter()
        call_command("seed_scale", survey=SURVEY, responses=args.responses, projects=args.projects, replace=True)
        print(f"seeded {args.responses:,} responses in {args.projects} projects: {time.perf_counter() - started:.1f} s")
        survey = Survey.objects.get(code=SURVEY)
    specs = survey_question_specs(survey=survey)
    n = Response.objects.filter(survey=survey).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(" on ")[0]
    print(f"survey {SURVEY}: {n:,} responses × {len(specs)} questions, {args.projects} projects; {version}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; median of {args.repeat}")
    print()
    rows = []

    def report(label: str, seconds: float, note: str = "") -> None:
        rows.append((label, seconds, note))
        print(f"  {label:<62} {seconds:7.2f} s  {note}")

    # Warm the cache once, as a recompute on a live server finds it.
    survey_frame(survey=survey)

    print("production path (one task)")

    def bare_copy():
        import io

        buffer = io.BytesIO()
        sql = (f"COPY (SELECT project_id, stage, answers FROM surveys_response WHERE survey_id = {int(survey.pk)}) "
               "TO STDOUT WITH (FORMAT binary)")
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for block in copy:
                buffer.write(block)
        return buffer.tell()

    t_floor, _ = timed(bare_copy, args.repeat)
    t_all, _ = timed(lambda: metrics_compute(survey_id=survey.pk), args.repeat)
    report("metrics_compute: read + engine + replace snapshots and cells", t_all,
           f"goal ≤ 2 s: {'met' if t_all <= 2 else 'MISSED'}; {t_all / t_floor:.1f} × the floor")
    report("  floor: the bare binary COPY of the same rows (no parsing)", t_floor)
    t_read, frame = timed(lambda: survey_frame(survey=survey), args.repeat)
    report("  read (binary COPY → one np.frombuffer → int8 matrix)", t_read)
    t_csv, csv_frame = timed(lambda: survey_frame(survey=survey, copy=True), args.repeat)
    report("  (the same read as CSV COPY parsed by pandas)", t_csv, "not used; for comparison")
    t_engine, metrics = timed(lambda: compute_survey_metrics(frame, specs), args.repeat)
    assert compute_survey_metrics(csv_frame, specs) == metrics
    report("  engine (every slice, items, drivers)", t_engine,
           f"{len(metrics.rows)} metric + {len(metrics.items)} item + {len(metrics.drivers)} driver rows")
    from django.utils import timezone

    t_write, _ = timed(lambda: metrics_write_snapshots(survey=survey, metrics=metrics, computed_at=timezone.now()), args.repeat)
    report("  replace snapshots (one transaction)", t_write)

    print("partitioned path (several workers share the survey)")
    plan = metrics_partition_plan(survey_id=survey.pk)
    t_seq, partials = timed(
        lambda: [metrics_partial_compute(survey_id=survey.pk, project_ids=group) for group in plan], args.repeat
    )
    t_combine, _ = timed(lambda: metrics_combine_partials(survey_id=survey.pk, partials=partials, run_ids=[]), args.repeat)
    report(f"  {len(plan)} partial counts one after another", t_seq)
    report("  combine + replace snapshots", t_combine)
    connections.close_all()
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("fork")) as pool:
        list(pool.map(_partial_in_child, [(survey.pk, plan[0])]))  # start the children before timing

        def parallel():
            return list(pool.map(_partial_in_child, [(survey.pk, group) for group in plan]))

        t_par, _ = timed(parallel, args.repeat)
    report(f"  {len(plan)} partial counts on 2 processes at once", t_par)
    report("partitioned total with 2 workers (counts + combine)", t_par + t_combine)

    if not args.skip_baselines:
        print("baseline 1: the same engine fed by the Django ORM")
        codes = [q.code for q in specs]

        def orm_frame():
            import pandas as pd

            values = list(Response.objects.filter(survey=survey).values_list("project__code", "stage", "answers").iterator(chunk_size=20_000))
            raw = pd.DataFrame(values, columns=["project", "stage", "answers"])
            scores = pd.DataFrame(decode_answer_matrix(raw["answers"], len(codes)), columns=codes)
            scores.insert(0, "stage", raw["stage"].to_numpy())
            scores.insert(0, "project", raw["project"].to_numpy())
            return compute_survey_metrics(scores, specs)

        t_orm, orm_metrics = timed(orm_frame, max(1, args.repeat - 1))
        assert orm_metrics.rows == metrics.rows
        report("  ORM values_list iteration + engine", t_orm)

        print("baseline 2: one row per answer, counted by SQL GROUP BY")
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('bench_answer') IS NOT NULL")
            if not cursor.fetchone()[0]:
                started = time.perf_counter()
                cursor.execute(
                    "CREATE UNLOGGED TABLE bench_answer AS "
                    "SELECT r.id AS response_id, r.project_id, r.stage, q.position AS question, "
                    "substr(r.answers, q.position + 1, 1)::smallint AS score "
                    "FROM surveys_response r JOIN surveys_question q ON q.survey_id = r.survey_id "
                    "WHERE r.survey_id = %s AND substr(r.answers, q.position + 1, 1) <> %s",
                    [survey.pk, NOT_ANSWERED],
                )
                cursor.execute("CREATE INDEX ON bench_answer (project_id, stage, question)")
                cursor.execute("ANALYZE bench_answer")
                print(f"  (built bench_answer once: {time.perf_counter() - started:.1f} s)")
            cursor.execute("SELECT count(*) FROM bench_answer")
            answers = cursor.fetchone()[0]

            def group_by():
                with connection.cursor() as c:
                    c.execute(
                        "SELECT project_id, stage, question, count(*), sum((score >= 4)::int), sum(score) "
                        "FROM bench_answer GROUP BY 1, 2, 3"
                    )
                    return c.fetchall()

            t_group, grouped = timed(group_by, args.repeat)
            report(f"  GROUP BY over {answers:,} answer rows (cell counts only)", t_group, f"{len(grouped)} groups")
            cursor.execute(
                "SELECT pg_total_relation_size('surveys_response'), pg_total_relation_size('bench_answer')"
            )
            chosen, per_answer = cursor.fetchone()
        print(f"  on disk: responses with answer strings {chosen / 2**20:,.0f} MB (all indexes included); "
              f"one row per answer {per_answer / 2**20:,.0f} MB (one index)")


if __name__ == "__main__":
    main()
