"""Faults with real processes: a Celery worker SIGKILLed mid-recompute, and the broker gone during entry and import.

Each test runs its own redis-server on a free loopback port (the machine's shared Redis is never stopped) and its
own PostgreSQL database cloned from a migrated template holding a 60,000-response survey (``tests/stack.py``).
"""

import json
import textwrap
from datetime import timedelta

import pytest
import redis
from celery import Celery

from tests import stack

# Unit checks of the fault settings and the flush (no services needed) ------------------------------------------


def test_time_limits_stay_below_the_brokers_visibility_timeout_and_tasks_ack_late(settings):
    import satisfaction.tasks
    import surveys.tasks  # noqa: F401 - registers the tasks
    from config.celery import app

    assert satisfaction.tasks
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_TIME_LIMIT < settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    # A vanished broker fails a publish instead of hanging it: the sockets time out (the save then stays pending).
    assert 0 < settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_connect_timeout"] <= 10
    assert 0 < settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] <= 30
    for name in (
        "satisfaction.tasks.recompute_survey",
        "satisfaction.tasks.recompute_survey_partition",
        "satisfaction.tasks.recompute_survey_combine",
        "surveys.tasks.run_import_job",
    ):
        task = app.tasks[name]
        assert task.acks_late and task.reject_on_worker_lost, name
    for name in ("satisfaction.tasks.recompute_survey", "satisfaction.tasks.recompute_survey_partition"):
        task = app.tasks[name]
        # Transient database errors retry a bounded number of times with exponential backoff.
        from django.db import OperationalError

        assert OperationalError in task.autoretry_for and task.max_retries == 5 and task.retry_backoff
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"satisfaction.tasks.flush_pending_recomputes", "surveys.tasks.flush_pending_imports"} <= scheduled


def test_settings_refuse_a_visibility_timeout_not_above_the_time_limit():
    import subprocess
    import sys

    env = {**stack.base_env("unused"), "CELERY_TASK_TIME_LIMIT": "600", "CELERY_VISIBILITY_TIMEOUT": "600"}
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings"], cwd=stack.ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "CELERY_VISIBILITY_TIMEOUT must exceed" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_recompute_requested_while_the_broker_is_down_stays_pending_and_the_flush_queues_it(monkeypatch, settings):
    from django.utils import timezone

    from satisfaction import tasks
    from satisfaction.models import MetricRun
    from satisfaction.services import metrics_request_recompute
    from surveys.services import survey_create

    survey = survey_create(code="outage", name="断网")
    other = survey_create(code="busy", name="计算中")
    sent = []

    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(tasks.recompute_survey, "apply_async", broker_down)
    run = metrics_request_recompute(survey_id=survey.pk)
    run.refresh_from_db()
    assert run.status == MetricRun.Status.PENDING  # saved, queued for later, no error to the clerk

    monkeypatch.setattr(tasks.recompute_survey, "delay", lambda survey_id: sent.append(survey_id))
    assert tasks.flush_pending_recomputes() == 0  # too fresh: it may still be on its way
    MetricRun.objects.filter(pk=run.pk).update(
        requested_at=timezone.now() - timedelta(seconds=settings.METRICS_FLUSH_SECONDS + 1)
    )
    # A run "running" whose worker stopped beating long ago lost its worker: queued again too.
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT + settings.METRICS_FLUSH_SECONDS + 1)
    MetricRun.objects.create(survey=other, status=MetricRun.Status.RUNNING, requested_at=long_ago, started_at=long_ago)
    # A run that is merely running now is left alone.
    MetricRun.objects.create(
        survey=other, status=MetricRun.Status.RUNNING, requested_at=timezone.now(), started_at=timezone.now()
    )
    assert tasks.flush_pending_recomputes() == 2
    assert sorted(sent) == sorted([survey.pk, other.pk])


# Real processes -------------------------------------------------------------------------------------------------

PENDING, RUNNING, DONE = "pending", "running", "done"


@pytest.fixture
def fault_db(request):
    # Left in place afterwards for a look after a failure; the next run replaces it.
    return stack.clone_database(f"csm_fault_{request.node.name[:30].lower()}", stack.template_database(seeded=True))


@pytest.fixture
def processes(tmp_path):
    """Start processes through this; every one is stopped at the end, whatever happened."""
    started = []

    def track(process):
        started.append(process)
        return process

    yield track
    for process in reversed(started):
        process.stop()


def survey_id(db: str) -> int:
    return stack.query(db, "SELECT id FROM surveys_survey WHERE code = %s", [stack.SEEDED_SURVEY])[0][0]


def runs(db: str) -> list[tuple]:
    return stack.query(db, "SELECT id, status FROM satisfaction_metricrun ORDER BY id")


def computed_at(db: str) -> set:
    return {row[0] for row in stack.query(db, "SELECT DISTINCT computed_at FROM satisfaction_metricsnapshot")}


def show_logs(*processes) -> str:
    return "\n".join(f"--- {p.name} ---\n{p.log()}" for p in processes)


@pytest.mark.integration
def test_a_worker_killed_in_the_middle_of_a_partitioned_recompute_is_replaced_and_the_snapshots_equal_a_clean_run(
    fault_db, processes, tmp_path
):
    # The clean run's snapshots (the single-task path) come with the template.
    clean = stack.snapshot_rows(fault_db)
    clean_stamps = computed_at(fault_db)
    assert len(clean["satisfaction_metricsnapshot"]) > 100

    port = stack.free_port()
    processes(stack.start_redis(port, tmp_path))
    broker, results = f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1"
    env = stack.base_env(
        fault_db,
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=results,
        # Partition even this survey, finely, so that the worker dies with some partitions counted.
        METRICS_PARTITION_MIN_RESPONSES="1000",
        METRICS_PARTITION_ROWS="3000",
        # A short time limit allows a short visibility timeout: the dead worker's message comes back in seconds.
        CELERY_TASK_TIME_LIMIT="6",
        CELERY_VISIBILITY_TIMEOUT="7",
        CELERY_RESTORE_INTERVAL="1",
    )
    first = processes(stack.start_worker("doomed", env, tmp_path))
    stack.wait_for(lambda: stack.worker_ready(first), what="the first worker")

    sid = survey_id(fault_db)
    stack.query(
        fault_db, "INSERT INTO satisfaction_metricrun (survey_id, status, requested_at, responses, error) "
        "VALUES (%s, 'pending', now(), 0, '') RETURNING id", [sid]
    )
    sender = Celery(broker=broker)
    sender.send_task("satisfaction.tasks.recompute_survey", args=[sid])

    # Kill it once the dispatching task and two partitions have stored results, before the chord's callback ran.
    backend = redis.Redis.from_url(results)
    stack.wait_for(
        lambda: len(backend.keys("celery-task-meta-*")) >= 3, interval=0.02, what="counted partitions"
    )
    first.kill()
    assert runs(fault_db)[-1][1] == RUNNING, show_logs(first)
    # The dead run left the previous snapshots in place, untouched.
    assert computed_at(fault_db) == clean_stamps
    assert stack.snapshot_rows(fault_db) == clean

    second = processes(stack.start_worker("heir", env, tmp_path))
    try:
        stack.wait_for(
            lambda: all(status == DONE for _, status in runs(fault_db)), interval=0.5,
            what="the recompute to finish on the second worker",
        )
    except AssertionError as exc:  # the workers' logs as they are now, not as they were when it started
        raise AssertionError(f"{exc}; runs {runs(fault_db)}\n{show_logs(first)}\n{show_logs(second)}") from None
    assert computed_at(fault_db) != clean_stamps
    assert len(computed_at(fault_db)) == 1
    # The chord completed, so the partition that died with the worker was redelivered and counted.
    assert stack.snapshot_rows(fault_db) == clean


ENTRY = textwrap.dedent(
    """
    import json
    from datetime import date
    from owners.models import Owner, Project
    from surveys.models import Survey
    from surveys.services import response_submit
    survey = Survey.objects.get(code="{survey}")
    owner = Owner.objects.create(project=Project.objects.order_by("code").first(), unit="9-9-909", name="断网录入")
    response, created = response_submit(
        survey=survey, owner=owner, questionnaire_no="OUTAGE-1", surveyed_on=date(2026, 6, 15),
        scores={{"overall": 5, "repurchase": 4, "recommend": 2, "design": 3}},
    )
    # An upload through the pages or the API stores an import job and queues it: the web's own path.
    from surveys.services import import_job_start
    upload = "问卷编号,楼盘编码,楼盘名称,房号,业主姓名,调查日期,总体满意度,再次购买意愿,推荐意愿\\n"
    upload += "OUTAGE-4,OUT-02,断网上传楼盘,2-1-201,上传丙,2026-06-15,5,5,5\\n"
    job = import_job_start(kind="responses", survey=survey, data=upload.encode(), file_name="web.csv", user=None)
    print(json.dumps({{"id": response.pk, "created": created, "job": job.pk}}))
    """
)

IMPORT_CSV = (
    "问卷编号,楼盘编码,楼盘名称,房号,业主姓名,入住日期,调查日期,总体满意度,再次购买意愿,推荐意愿\n"
    "OUTAGE-2,OUT-01,断网楼盘,1-1-101,导入甲,2024-01-10,2026-06-15,4,4,5\n"
    "OUTAGE-3,OUT-01,断网楼盘,1-1-102,导入乙,,2026-06-15,2,3,3\n"
)


@pytest.mark.integration
def test_with_the_broker_down_entry_and_imports_still_save_and_run_and_the_recompute_happens_once_it_is_back(
    fault_db, processes, tmp_path
):
    port = stack.free_port()
    redis_server = processes(stack.start_redis(port, tmp_path))
    env = stack.base_env(
        fault_db,
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0",
        # The beat looks for recomputes the broker never got every 2 s (a minute in production).
        METRICS_FLUSH_SECONDS="2",
    )
    worker = processes(stack.start_worker("survivor", env, tmp_path))
    beat = processes(stack.start_beat(env, tmp_path))
    stack.wait_for(lambda: stack.worker_ready(worker), what="the worker")
    responses_before = stack.query(fault_db, "SELECT count(*) FROM surveys_response")[0][0]

    redis_server.stop()
    assert not stack.port_open(port)

    # The save returns (a hung publish would stop it at the generous limit): the broker's sockets time out.
    entry = stack.manage(fault_db, "shell", "-c", ENTRY.format(survey=stack.SEEDED_SURVEY), env=env)
    saved = json.loads(entry.stdout.strip().splitlines()[-1])
    assert saved["created"] is True
    csv_path = tmp_path / "outage.csv"
    csv_path.write_text(IMPORT_CSV, encoding="utf-8")
    imported = stack.manage(fault_db, "import_responses", str(csv_path), "--survey", stack.SEEDED_SURVEY, env=env)
    assert "created 2" in imported.stdout

    # Saved, and the recompute waits as a pending run (pages keep the previous snapshots meanwhile); the
    # uploaded file waits as a pending import job.
    assert stack.query(fault_db, "SELECT count(*) FROM surveys_response")[0][0] == responses_before + 3
    job_status = "SELECT status FROM surveys_importjob WHERE id = %s"
    assert stack.query(fault_db, job_status, [saved["job"]])[0][0] == "pending"
    assert [status for _, status in runs(fault_db)].count(PENDING) == 1
    headline_n = "SELECT n FROM satisfaction_metricsnapshot WHERE port = '' AND project_id IS NULL AND stage = ''"
    assert stack.query(fault_db, headline_n)[0][0] == responses_before

    processes(stack.start_redis(port, tmp_path))
    stack.wait_for(
        lambda: stack.query(fault_db, headline_n)[0][0] == responses_before + 4,
        interval=0.5,
        what=lambda: "the recompute after the broker came back\n" + show_logs(worker, beat),
    )
    stack.wait_for(lambda: PENDING not in {s for _, s in runs(fault_db)}, what="no pending run left")
    assert stack.query(fault_db, job_status, [saved["job"]])[0][0] == "succeeded"
    # Nothing written twice: one response per questionnaire number, one snapshot per slice.
    assert stack.query(fault_db, "SELECT count(*) FROM surveys_response")[0][0] == responses_before + 4
    assert stack.query(
        fault_db, "SELECT count(*) FROM surveys_response WHERE questionnaire_no LIKE 'OUTAGE-%%'"
    )[0][0] == 4
    duplicates = stack.query(
        fault_db,
        "SELECT port, project_id, stage, count(*) FROM satisfaction_metricsnapshot "
        "GROUP BY port, project_id, stage HAVING count(*) > 1",
    )
    assert duplicates == []
    # And the numbers are the engine's over the saved responses.
    overall = stack.query(
        fault_db,
        "SELECT count(*), sum((substr(answers, 1, 1) >= '4')::int) FROM surveys_response "
        "WHERE substr(answers, 1, 1) <> '-'",
    )[0]
    headline = stack.query(
        fault_db,
        "SELECT n, satisfied FROM satisfaction_metricsnapshot WHERE port = '' AND project_id IS NULL AND stage = ''",
    )[0]
    assert headline == overall
