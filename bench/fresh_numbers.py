"""Benchmark: one new or changed response shows in every affected slice within 1 s, through a real worker, whatever
the survey's size (goal ≤ 1 s end to end).

    .venv/bin/python bench/fresh_numbers.py [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--repeat 5]

Works in ``recompute_1m.py``'s database (``csm_bench_recompute``: a 1,000,000-response survey, seeded by that
benchmark if missing) with a private ``redis-server`` on a free loopback port and one real Celery worker (solo
pool) started here. After one full recompute (which stores the per-cell counts), for each way a response comes
in — keyed (``response_submit``), imported (a one-row file through ``responses_import``), online (the owner's own
answer: ``response_submit`` with channel online), and an edit that moves a response to another project and
stage — it measures the wall time from the commit to the moment the worker has committed every affected slice
(the headline's ``n`` and the cell's row as a clean recompute would write them). Baseline in the same run: the
full recompute of the same survey (what every change cost before), and the ratio.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait(predicate, timeout: float, interval: float = 0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("redis-server"):
        sys.exit("redis-server is needed (apt-get install redis-server)")

    from bench.recompute_1m import DATABASE, SURVEY, prepare_database

    prepare_database(args.database_url, False)
    redis_port = free_port()
    broker = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    redis = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                              "--appendonly", "no"], stdout=subprocess.DEVNULL, start_new_session=True)
    worker = None
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import transaction

        from owners.models import Owner, Project
        from satisfaction.models import MetricRun, MetricSnapshot
        from satisfaction.services import metrics_compute
        from surveys.importer import responses_import
        from surveys.models import Response, Survey
        from surveys.services import response_submit

        call_command("migrate", verbosity=0)
        survey = Survey.objects.filter(code=SURVEY).first()
        if survey is None:
            sys.exit(f"run bench/recompute_1m.py once first: it seeds {DATABASE}")
        env = {**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"], "CELERY_BROKER_URL": broker}
        log = open(out / "fresh_numbers_worker.log", "w")  # noqa: SIM115 - closed at the end
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--without-mingle",
             "--without-gossip", "--without-heartbeat", "--loglevel=INFO", "-n", "fresh@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if not wait(lambda: "ready." in (out / "fresh_numbers_worker.log").read_text(), 60, 0.2):
            sys.exit("the worker did not start")

        n = Response.objects.filter(survey=survey).count()
        full = []
        for _ in range(2):
            started = time.perf_counter()
            metrics_compute(survey_id=survey.pk)
            full.append(time.perf_counter() - started)
        baseline = min(full)
        questions = list(survey.questions.order_by("position"))
        projects = list(Project.objects.filter(responses__survey=survey).distinct().order_by("code")[:2])
        print(f"survey {SURVEY}: {n:,} responses; one real worker on a private Redis; {os.cpu_count()} CPUs, "
              f"load average {os.getloadavg()[0]:.1f}; median of {args.repeat}")
        print(f"  baseline: full recompute of the survey (what every change cost before)   {baseline:6.2f} s")

        def headline_n() -> int:
            return MetricSnapshot.objects.get(survey=survey, port="", project__isnull=True, stage="").n

        def scores(value: int) -> dict:
            return {q.code: value for q in questions}

        serial = [int(time.time())]

        def keyed(channel: str = "phone") -> None:
            serial[0] += 1
            owner = Owner.objects.create(project=projects[0], unit=f"F-{serial[0]}", name=f"新鲜{serial[0]}",
                                         move_in_date=date(2025, 1, 1))
            response_submit(survey=survey, owner=owner, questionnaire_no=f"FRESH-{serial[0]}",
                            surveyed_on=date(2026, 5, 1), scores=scores(5), channel=channel)

        def imported() -> None:
            serial[0] += 1
            header = "问卷编号,楼盘编码,房号,业主姓名,调查日期," + ",".join(q.label for q in questions)
            row = f"IMP-{serial[0]},{projects[0].code},I-{serial[0]},导入{serial[0]},2026-05-01," + ",".join(
                "4" for _ in questions)
            result = responses_import(survey=survey, data=f"{header}\n{row}\n".encode(), file_name="one.csv")
            assert result.ok, result.errors[:3]

        def moved() -> None:
            response = Response.objects.filter(survey=survey, questionnaire_no__startswith="FRESH-").order_by("-id").first()
            owner = response.owner
            owner.project = projects[1] if owner.project_id == projects[0].pk else projects[0]
            owner.move_in_date = date(2020, 1, 1)
            owner.save()
            response_submit(survey=survey, owner=owner, questionnaire_no=response.questionnaire_no,
                            surveyed_on=date(2026, 5, 1), scores=scores(2))

        def measure(label: str, change, delta_n: int) -> float:
            times = []
            for _ in range(args.repeat):
                before = headline_n()
                stamp = MetricSnapshot.objects.filter(survey=survey, port="", project__isnull=True, stage="") \
                    .values_list("computed_at", flat=True).get()
                with transaction.atomic():
                    change()
                started = time.perf_counter()  # committed: from here the numbers are the worker's to bring

                def fresh(before=before, stamp=stamp):
                    row = MetricSnapshot.objects.filter(survey=survey, port="", project__isnull=True, stage="") \
                        .values_list("n", "computed_at").first()
                    return row is not None and row[0] == before + delta_n and row[1] != stamp

                if not wait(fresh, 30):
                    sys.exit(f"{label}: the change did not show within 30 s")
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            print(f"  {label:<72} {median:6.3f} s  (max {max(times):.3f} s; goal ≤ 1 s: "
                  f"{'met' if max(times) <= 1 else 'MISSED'}; {baseline / median:.0f} × faster than the baseline)")
            return median

        with transaction.atomic():  # warm-up: the worker's first run imports and connects
            keyed()
        wait(lambda: not MetricRun.objects.filter(survey=survey, status__in=["pending", "running"]).exists(), 30)
        measure("keyed entry (a new response)", keyed, 1)
        measure("online answer (a new response)", lambda: keyed("online"), 1)
        measure("import of a one-row file", imported, 1)
        measure("edit moving a response to another project and stage", moved, 0)
        snapshot = sorted(MetricSnapshot.objects.filter(survey=survey).values_list(
            "port", "project_id", "stage", "n", "satisfied", "satisfaction_rate", "loyal", "loyalty_base"), key=repr)
        metrics_compute(survey_id=survey.pk)
        again = sorted(MetricSnapshot.objects.filter(survey=survey).values_list(
            "port", "project_id", "stage", "n", "satisfied", "satisfaction_rate", "loyal", "loyalty_base"), key=repr)
        print(f"  incremental snapshots equal a full recompute afterwards: {snapshot == again}")
        # Leave the benchmark survey as it was seeded.
        Response.objects.filter(survey=survey, questionnaire_no__regex=r"^(FRESH|IMP)-").delete()
        metrics_compute(survey_id=survey.pk)
    finally:
        for process in (worker, redis):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
