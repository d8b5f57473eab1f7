"""Redis down: pages keep serving from the database (slower), imports finish, a logout during the outage stays a
logout afterwards, and Celery workers wait for the broker for ever instead of exiting.

The unit part points the cache at a port where nothing listens; the integration part runs a private redis-server
(``tests/stack.py``; the machine's shared Redis is never stopped) and stops it mid-test.
"""

import logging
import re
import subprocess
import sys
import time
from datetime import date

import pytest
from django.core.cache import caches
from django.test import Client

from tests import stack
from tests.conftest import PASSWORD
from tests.test_deploy_check import ROOT, clean_environ

CSV = (
    "问卷编号,楼盘编码,楼盘名称,房号,业主姓名,调查日期,总体满意度,再次购买意愿,推荐意愿\n"
    + "".join(f"R-{n:04d},OUT-01,断缓存楼盘,1-{n},业主{n},2026-06-15,{3 + n % 3},4,5\n" for n in range(1, 301))
)


RETRY = re.compile(r"Trying again in [^.]+\.\d+ seconds\.\.\. \((\d+)/(\w+)\)")


def production_caches(cache_url: str) -> dict:
    """CACHES exactly as config/settings.py builds them for this CACHE_URL (a fresh process reads the environment)."""
    code = "from django.conf import settings as s; print(repr(s.CACHES)); print(s.SESSION_ENGINE)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"], cwd=ROOT, capture_output=True, text=True,
        env={**clean_environ(), "DJANGO_SETTINGS_MODULE": "config.settings", "CACHE_URL": cache_url}, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    caches_repr, engine = result.stdout.strip().splitlines()
    assert engine == "django.contrib.sessions.backends.cached_db"
    return eval(caches_repr)  # noqa: S307 - our own settings' repr


@pytest.fixture
def cache_on(settings):
    """Point the default cache (and cached_db sessions) at a Redis URL, as production settings would."""

    def point(url: str):
        settings.CACHES = production_caches(url)
        settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
        return caches["default"]

    yield point


def browse(client: Client) -> list[int]:
    return [client.get(path).status_code for path in ["/", "/dashboards/", "/owners/", "/surveys/entry/"]]


# --- no Redis at all ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_with_redis_unreachable_people_log_in_and_pages_answer(cache_on, staff, caplog):
    cache = cache_on(f"redis://127.0.0.1:{stack.free_port()}/2")
    caplog.set_level(logging.WARNING, logger="csm.cache")
    client = Client(raise_request_exception=False)
    answer = client.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    assert answer.status_code == 302
    assert browse(client) == [200, 200, 200, 200]
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302
    # Many failed calls, one log line a minute.
    for _ in range(50):
        cache.get("x")
    assert len([r for r in caplog.records if r.name == "csm.cache"]) == 1


@pytest.mark.django_db
def test_a_cache_call_while_redis_is_down_answers_as_a_miss(cache_on):
    cache = cache_on(f"redis://127.0.0.1:{stack.free_port()}/2")
    assert cache.get("k", "default") == "default"
    assert cache.set("k", 1) is None and cache.add("k", 1) is False and cache.delete("k") is False
    assert cache.get_many(["a", "b"]) == {} and cache.has_key("k") is False
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    with pytest.raises(ValueError):
        cache.incr("k")
    # The rate limiter fails open rather than locking everyone out.
    from core.ratelimit import rate_limit_hit

    assert not any(rate_limit_hit(scope="t", key="k", limit=1, window_seconds=60) for _ in range(5))


def test_workers_retry_the_broker_for_ever():
    import satisfaction.tasks  # noqa: F401 - registers the tasks
    from config.celery import app

    assert app.conf.broker_connection_retry is True
    assert app.conf.broker_connection_retry_on_startup is True
    assert app.conf.broker_connection_max_retries is None


# --- a real Redis, stopped mid-test ---------------------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path):
    port = stack.free_port()
    started = [stack.start_redis(port, tmp_path)]

    class Server:
        url = f"redis://127.0.0.1:{port}/2"

        def stop(self):
            started[-1].stop()
            assert not stack.port_open(port)

        def start(self):
            started.append(stack.start_redis(port, tmp_path))

    yield Server()
    for process in started:
        process.stop()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_redis_stopped_during_page_views_and_an_import(cache_on, private_redis, staff, settings, monkeypatch):
    from satisfaction.models import MetricSnapshot
    from surveys.importing import jobs
    from surveys.models import ImportJob, Response
    from surveys.services import survey_create

    settings.CELERY_TASK_ALWAYS_EAGER = True
    cache = cache_on(private_redis.url)
    survey = survey_create(code="outage-cache", name="缓存中断", starts_on=date(2026, 6, 1))
    client = Client(raise_request_exception=False)
    assert client.post("/accounts/login/", {"username": "staff", "password": PASSWORD}).status_code == 302
    assert browse(client) == [200, 200, 200, 200]
    assert cache.get(f"django.contrib.sessions.cached_db{client.session.session_key}") is not None  # really cached
    other = Client(raise_request_exception=False)
    other.post("/accounts/login/", {"username": "staff", "password": PASSWORD})
    old_cookie = other.cookies["sessionid"].value

    # Redis goes away in the middle of the import (at its first progress report).
    real_progress = jobs.ProgressWriter.__call__

    def stop_redis_once(self, percent):
        if stack.port_open(int(private_redis.url.rsplit(":", 1)[1].split("/")[0])):
            private_redis.stop()
        return real_progress(self, percent)

    monkeypatch.setattr(jobs.ProgressWriter, "__call__", stop_redis_once)
    from django.core.files.uploadedfile import SimpleUploadedFile

    with_file = {"survey": survey.pk, "file": SimpleUploadedFile("outage.csv", CSV.encode(), "text/csv")}
    upload = client.post("/surveys/imports/new/", with_file)
    assert upload.status_code in (200, 302), upload.content[:500]
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.SUCCEEDED, job.errors[:3]
    assert Response.objects.filter(survey=survey).count() == 300
    assert MetricSnapshot.objects.filter(survey=survey).exists()

    # With Redis down: every page still answers, the session comes from the database; a logout is a logout.
    assert browse(client) == [200, 200, 200, 200]
    assert client.get(f"/surveys/imports/{job.pk}/").status_code == 200
    assert other.post("/accounts/logout/").status_code == 302

    private_redis.start()
    time.sleep(2.5)  # past the pause after a failure: the next call tries Redis again
    assert browse(client) == [200, 200, 200, 200]
    # The logged-out session's cached copy, which the outage kept from being deleted, is gone too.
    replay = Client(raise_request_exception=False)
    replay.cookies["sessionid"] = old_cookie
    assert replay.get("/").status_code == 302


@pytest.mark.integration
def test_a_worker_outlives_a_broker_outage_and_takes_tasks_again(tmp_path):
    db = stack.clone_database("csm_fault_broker_outage", stack.template_database(seeded=False))
    port = stack.free_port()
    redis_server = stack.start_redis(port, tmp_path)
    broker, results = f"redis://127.0.0.1:{port}/0", f"redis://127.0.0.1:{port}/1"
    env = stack.base_env(db, CELERY_BROKER_URL=broker, CELERY_RESULT_BACKEND=results)
    worker = stack.start_worker("patient", env, tmp_path)
    try:
        stack.wait_for(lambda: stack.worker_ready(worker), timeout=30, what="the worker")
        redis_server.stop()
        # The worker notices and retries; Celery's count says how many tries it has left: none, it never gives up
        # (with the default, "(1/100)": about half an hour later the worker exits and needs systemd).
        stack.wait_for(lambda: len(RETRY.findall(worker.log())) >= 2 or not worker.alive(), timeout=30, what="retries")
        assert worker.alive(), worker.log()
        assert {limit for _, limit in RETRY.findall(worker.log())} == {"None"}, worker.log()
        redis_server = stack.start_redis(port, tmp_path)
        from celery import Celery

        sender = Celery(broker=broker, backend=results)
        answer = sender.send_task("satisfaction.tasks.flush_pending_recomputes")
        # disable_sync_subtasks=False: an in-process test worker earlier in this process (test_celery_integration's
        # start_worker) leaves Celery's "inside a task" flag set, and .get() would refuse to wait; this is no task.
        assert answer.get(timeout=60, disable_sync_subtasks=False) == 0, worker.log()
        assert worker.alive()
    finally:
        worker.stop()
        redis_server.stop()
