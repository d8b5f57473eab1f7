"""One recompute per survey at a time, with real processes: two workers and 20 overlapping requests end in the
numbers of a clean run with no failed run, and a run whose worker is SIGKILLed is finished by another worker
within the stale-run window (heartbeat silence + the beat's flush), far inside 2 minutes.

Each test runs its own redis-server on a free loopback port and its own PostgreSQL database cloned from the seeded
template (60,000 responses, ``tests/stack.py``); the machine's shared Redis is never touched.
"""

import random
import time

import psycopg
import pytest
from celery import Celery
from django.conf import settings

from tests import stack

pytestmark = pytest.mark.integration

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"


def test_the_production_defaults_bring_a_dead_workers_run_back_within_two_minutes():
    # Silent for METRICS_STALE_SECONDS, then found by the next flush (every METRICS_FLUSH_SECONDS).
    assert settings.METRICS_STALE_SECONDS + settings.METRICS_FLUSH_SECONDS <= 110
    assert settings.METRICS_STALE_SECONDS >= 3 * settings.METRICS_HEARTBEAT_SECONDS


@pytest.fixture
def db_name(request):
    return stack.clone_database(f"csm_conc_{request.node.name[5:30].lower()}", stack.template_database(seeded=True))


@pytest.fixture
def processes():
    started = []
    yield lambda process: started.append(process) or process
    for process in reversed(started):
        process.stop()


def execute(db: str, sql: str, params=()) -> None:
    with psycopg.connect(stack.database_url(db), autocommit=True) as conn:
        conn.execute(sql, params)


def survey_id(db: str) -> int:
    return stack.query(db, "SELECT id FROM surveys_survey WHERE code = %s", [stack.SEEDED_SURVEY])[0][0]


def run_states(db: str) -> list[tuple]:
    return stack.query(db, "SELECT id, status, error FROM satisfaction_metricrun ORDER BY id")


def request_recompute(db: str, sid: int, sender: Celery) -> None:
    """What a saved entry does: a pending run, then the task (the service's own SQL, from outside Django)."""
    execute(
        db, "INSERT INTO satisfaction_metricrun (survey_id, status, kind, requested_at, responses, error) "
        "VALUES (%s, 'pending', 'full', now(), 0, '')", [sid]
    )
    sender.send_task("satisfaction.tasks.recompute_survey", args=[sid])


def change_some_answers(db: str, sid: int, rng: random.Random) -> None:
    project = stack.query(db, "SELECT id FROM owners_project ORDER BY code LIMIT 1 OFFSET %s", [rng.randrange(20)])[0][0]
    answers = "".join(rng.choice("12345-") for _ in range(24))
    execute(
        db, "UPDATE surveys_response SET answers = %s WHERE id IN (SELECT id FROM surveys_response "
        "WHERE survey_id = %s AND project_id = %s ORDER BY id LIMIT 200)", [answers, sid, project]
    )


def clean_run(db: str) -> dict:
    """The snapshots a clean synchronous full recompute writes of the database as it now is."""
    stack.manage(db, "compute_metrics", "--survey", stack.SEEDED_SURVEY)
    return stack.snapshot_rows(db)


def logs(*processes) -> str:
    return "\n".join(f"--- {p.name} ---\n{p.log()}" for p in processes)


def test_two_workers_and_twenty_overlapping_requests_end_in_a_clean_runs_numbers_with_no_failed_run(
    db_name, processes, tmp_path
):
    port = stack.free_port()
    processes(stack.start_redis(port, tmp_path))
    broker = f"redis://127.0.0.1:{port}/0"
    env = stack.base_env(db_name, CELERY_BROKER_URL=broker)
    workers = [processes(stack.start_worker(f"overlap{i}", env, tmp_path)) for i in (1, 2)]
    for worker in workers:
        stack.wait_for(lambda w=worker: stack.worker_ready(w), timeout=30, what=f"worker {worker.name}")
    sid = survey_id(db_name)
    sender = Celery(broker=broker)
    rng = random.Random(17)

    for _ in range(20):  # changes and requests faster than a recompute: they overlap on both workers
        change_some_answers(db_name, sid, rng)
        request_recompute(db_name, sid, sender)
        time.sleep(rng.uniform(0.0, 0.08))

    try:
        stack.wait_for(lambda: all(status in (DONE, FAILED) for _, status, _ in run_states(db_name)), timeout=120,
                       interval=0.3, what="every run to finish")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; runs {run_states(db_name)}\n{logs(*workers)}") from None
    states = run_states(db_name)
    assert [run for run in states if run[1] != DONE] == [], logs(*workers)
    assert len(states) == 21  # the template's clean run and the 20 requests
    for worker in workers:
        assert "IntegrityError" not in worker.log() and "Traceback" not in worker.log(), logs(*workers)
    # Both workers took requests, and requests made while a run held the survey were folded into fewer runs.
    ran = [worker.log().count("recompute_survey[") for worker in workers]
    assert all(ran), logs(*workers)
    by_workers = stack.snapshot_rows(db_name)
    assert by_workers == clean_run(db_name)


def test_a_run_whose_worker_is_sigkilled_is_finished_by_another_worker_once_its_heartbeat_falls_silent(
    db_name, processes, tmp_path
):
    port = stack.free_port()
    processes(stack.start_redis(port, tmp_path))
    broker = f"redis://127.0.0.1:{port}/0"
    # The production rule scaled down: beats every 1 s, silent for 6 s = dead, flushed every 3 s.
    env = stack.base_env(db_name, CELERY_BROKER_URL=broker, METRICS_HEARTBEAT_SECONDS="1",
                         METRICS_STALE_SECONDS="6", METRICS_FLUSH_SECONDS="3")
    doomed = processes(stack.start_worker("doomed", env, tmp_path))
    stack.wait_for(lambda: stack.worker_ready(doomed), timeout=30, what="the first worker")
    sid = survey_id(db_name)
    change_some_answers(db_name, sid, random.Random(3))
    before = stack.snapshot_rows(db_name)

    # Hold the snapshot table so that the run, once it has read and counted, waits at its write: mid-run.
    blocker = psycopg.connect(stack.database_url(db_name))
    blocker.execute("LOCK TABLE satisfaction_metricsnapshot IN ACCESS EXCLUSIVE MODE")
    try:
        request_recompute(db_name, sid, Celery(broker=broker))
        stack.wait_for(lambda: run_states(db_name)[-1][1] == RUNNING, timeout=30, what="the run to start")
        first_beat = stack.query(db_name, "SELECT heartbeat_at FROM satisfaction_metricrun ORDER BY id DESC LIMIT 1")
        time.sleep(2.5)
        later_beat = stack.query(db_name, "SELECT heartbeat_at FROM satisfaction_metricrun ORDER BY id DESC LIMIT 1")
        assert later_beat > first_beat, "a running run beats"
        doomed.kill()  # SIGKILL to the worker's whole process group
        killed_at = time.monotonic()
    finally:
        blocker.rollback()
        blocker.close()
    assert run_states(db_name)[-1][1] == RUNNING
    assert stack.snapshot_rows(db_name) == before  # the dead run wrote nothing

    heir = processes(stack.start_worker("heir", env, tmp_path))
    beat = processes(stack.start_beat(env, tmp_path))
    try:
        stack.wait_for(lambda: all(status == DONE for _, status, _ in run_states(db_name)), timeout=60, interval=0.3,
                       what="the run to be finished by the second worker")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; runs {run_states(db_name)}\n{logs(doomed, heir, beat)}") from None
    recovered = time.monotonic() - killed_at
    # Silence (6 s) + one flush period (3 s) + the worker's start and the run itself.
    assert recovered < 30, recovered
    assert "lost their worker" in heir.log() + beat.log()
    assert stack.snapshot_rows(db_name) == clean_run(db_name) != before
