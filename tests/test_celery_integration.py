"""The recompute through a real Redis broker and a real Celery worker, against PostgreSQL.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/pytest -m integration
tests/test_celery_integration.py``. The worker runs in a thread of the test process (Celery's
``start_worker``), so it uses the test database; it listens on a queue of its own so that other test runs
sharing the Redis database cannot take its tasks.
"""

import threading
import time
import uuid

import pandas as pd
import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections, transaction

from config.celery import app
from satisfaction.metrics.engine import compute_survey_metrics
from satisfaction.models import MetricRun, MetricSnapshot
from satisfaction.selectors import survey_frame
from satisfaction.services import metrics_compute, metrics_request_recompute
from tests.metrics_support import QUESTIONS, random_frame, snapshot_values, survey_with_answers
from tests.support import HUNG_SECONDS, REDIS_URL

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CONF_KEYS = ("broker_url", "result_backend", "task_always_eager", "task_default_queue")


def _reset_connections_to_the_broker() -> None:
    """Forget the broker and result connections made under the previous configuration."""
    app._pool = None  # kombu keeps the pool per URL; closing it would break the next test's sends
    app.__dict__.pop("amqp", None)  # its queues and router were built from the previous default queue
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)


@pytest.fixture
def worker(settings):
    """A real worker on Redis; yields the names of the tasks it ran (and in which thread)."""
    saved = {key: app.conf[key] for key in CONF_KEYS}
    queue = f"csm-test-{uuid.uuid4().hex[:12]}"
    app.conf.broker_url = REDIS_URL
    app.conf.result_backend = REDIS_URL
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    settings.CELERY_TASK_ALWAYS_EAGER = False
    _reset_connections_to_the_broker()
    ran: list[tuple[str, str]] = []

    def after_task(sender=None, **kwargs):
        ran.append((sender.name, threading.current_thread().name))
        # The worker thread's database connection must not outlive the test (the test database is flushed).
        connections.close_all()

    task_postrun.connect(after_task, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            yield ran
    finally:
        task_postrun.disconnect(after_task)
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
        for key, value in saved.items():
            app.conf[key] = value
        _reset_connections_to_the_broker()


def wait_for_runs_done(survey, ran: list, last_task: str, timeout: float = HUNG_SECONDS) -> None:
    """Until every run of the survey is done and the worker has finished ``last_task``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = list(MetricRun.objects.filter(survey=survey).values_list("status", flat=True))
        finished = any(name == last_task for name, _ in ran)
        if finished and runs and all(status == MetricRun.Status.DONE for status in runs):
            return
        if MetricRun.Status.FAILED in runs:
            pytest.fail(f"the recompute failed: {MetricRun.objects.filter(survey=survey).values_list('error', flat=True)}")
        time.sleep(0.2)
    pytest.fail(f"the worker did not finish the recompute within {timeout} s (runs: {runs})")


def test_a_recompute_requested_in_a_transaction_runs_on_the_worker_and_equals_a_synchronous_run(worker):
    frame = random_frame(21, 500, projects=4, drivers=True)
    survey = survey_with_answers("2026-annual", frame)
    with transaction.atomic():
        for _ in range(3):  # several saves in one transaction: one run, one task
            metrics_request_recompute(survey_id=survey.pk)
        assert not MetricSnapshot.objects.filter(survey=survey).exists()
    wait_for_runs_done(survey, worker, "satisfaction.tasks.recompute_survey")

    assert [name for name, _ in worker] == ["satisfaction.tasks.recompute_survey"]
    assert worker[0][1] != threading.current_thread().name, "the task ran in the worker, not in the test"
    assert MetricRun.objects.filter(survey=survey).count() == 1
    by_worker = snapshot_values(survey)
    assert len(by_worker["MetricSnapshot"]) == len(compute_survey_metrics(frame, QUESTIONS).rows)

    metrics_compute(survey_id=survey.pk)
    assert snapshot_values(survey) == by_worker


def test_a_partitioned_recompute_through_a_chord_equals_a_synchronous_run(worker, settings):
    settings.CELERY_RESULT_BACKEND = REDIS_URL
    settings.METRICS_PARTITION_MIN_RESPONSES = 100
    settings.METRICS_PARTITION_ROWS = 150
    survey = survey_with_answers("2026-annual", random_frame(22, 600, projects=5, drivers=True))
    metrics_request_recompute(survey_id=survey.pk)  # autocommit: sent at once
    wait_for_runs_done(survey, worker, "satisfaction.tasks.recompute_survey_combine")

    names = [name for name, _ in worker]
    assert names.count("satisfaction.tasks.recompute_survey_partition") >= 2
    assert "satisfaction.tasks.recompute_survey_combine" in names
    by_chord = snapshot_values(survey)
    metrics_compute(survey_id=survey.pk)
    assert snapshot_values(survey) == by_chord


def test_the_copy_read_on_postgresql_gives_the_same_frame_as_the_cursor_read():
    frame = random_frame(23, 300, projects=3)
    # Codes that CSV must quote or could mistake for a missing value.
    frame["project"] = frame["project"].map({"P0": 'SZ,"01"', "P1": "NA", "P2": "GZ-TH01"})
    survey = survey_with_answers("2026-annual", frame)

    copied = survey_frame(survey=survey)
    fetched = survey_frame(survey=survey, copy=False)
    key = list(copied.columns)
    pd.testing.assert_frame_equal(
        copied.sort_values(key).reset_index(drop=True).astype(object),
        fetched.sort_values(key).reset_index(drop=True).astype(object),
    )
    assert sorted(copied["project"].unique()) == sorted(frame["project"].unique())
    assert (copied.drop(columns=["project", "stage"]).dtypes == "int8").all()
