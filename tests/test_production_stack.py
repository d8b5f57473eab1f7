"""The production stack, started as README "Production" describes, and one journey through it over HTTP.

gunicorn (deploy/gunicorn.conf.py, whitenoise manifest static after collectstatic) + a Celery worker + the beat, on
loopback, against the real PostgreSQL (its own database, ``csm_ci_stack``) and Redis (its own db number). A
brand-service clerk logs in, uploads the survey firm's sample file through the API, the worker imports it and
recomputes, and the first page shows the headline rates that pandas computes from the same file.
"""

import re
import secrets
import subprocess

import pandas as pd
import pytest
import redis
import requests

from tests import stack
from tests.support import HUNG_SECONDS, SAMPLE_XLSX

pytestmark = pytest.mark.integration

SAMPLE = SAMPLE_XLSX
REDIS_DB = 12
PASSWORD = "Stack-pass-2026!"
SURVEY = "stack-2026"
# One HTTP request on a busy machine: a limit that only stops a hung request (the readiness poll keeps its short one).
HTTP_SECONDS = 60

SETUP = f"""
from django.contrib.auth.models import Group, User
from departments.models import Department, Membership
from surveys.services import survey_create
from datetime import date
survey_create(code="{SURVEY}", name="生产环境冒烟调查", starts_on=date(2030, 1, 1))
user = User.objects.create_user("clerk", password="{PASSWORD}", first_name="冒烟")
user.groups.add(Group.objects.get(name="brand_service"))
Membership.objects.create(user=user, department=Department.objects.get(code="brand_service"))
print("ok")
"""


def expected_headline() -> tuple[str, str, int]:
    """Satisfaction and loyalty from the file, independently of the app: pandas over the three headline columns."""
    frame = pd.read_excel(SAMPLE, engine="calamine")
    trio = frame[["总体满意度", "再次购买意愿", "推荐意愿"]].apply(pd.to_numeric, errors="coerce")
    overall = trio["总体满意度"].dropna()
    satisfaction = (overall >= 4).mean()
    answered = trio.dropna()
    loyalty = (answered >= 4).all(axis=1).mean()
    return f"{satisfaction * 100:.1f}%", f"{loyalty * 100:.1f}%", len(overall)


@pytest.fixture
def stack_db():
    # Left in place afterwards for a look after a failure; the next run replaces it.
    return stack.clone_database("csm_ci_stack", stack.template_database(seeded=False))


def test_gunicorn_worker_and_beat_serve_a_clerks_import_through_to_the_first_pages_numbers(stack_db, tmp_path):
    if not SAMPLE.exists():
        pytest.fail(f"the sample file {SAMPLE} is missing")
    broker = f"redis://127.0.0.1:6379/{REDIS_DB}"
    redis.Redis.from_url(broker).flushdb()
    port = stack.free_port()
    env = stack.base_env(
        stack_db,
        CELERY_BROKER_URL=broker,
        CELERY_RESULT_BACKEND=broker,
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        STATIC_MANIFEST="1",
        STATIC_ROOT=str(tmp_path / "static"),
        VAR_DIR=str(tmp_path / "var"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
        GUNICORN_ACCESS_LOG=str(tmp_path / "access.log"),
    )
    # collectstatic and the accounts' set-up are independent: run them side by side.
    collect = subprocess.Popen(
        [str(stack.BIN / "python"), "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=stack.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert "ok" in stack.manage(stack_db, "shell", "-c", SETUP, env=env).stdout
    output, _ = collect.communicate(timeout=HUNG_SECONDS)
    assert collect.returncode == 0, output

    processes = []
    try:
        processes.append(
            stack.Process("web", [str(stack.BIN / "gunicorn"), "config.wsgi:application", "-c",
                                  "deploy/gunicorn.conf.py"], env, tmp_path)
        )
        processes.append(stack.start_worker("stack-worker", env, tmp_path))
        processes.append(stack.start_beat(env, tmp_path))
        base = f"http://127.0.0.1:{port}"

        def ready():
            try:
                return requests.get(f"{base}/readyz", timeout=5).status_code == 200
            except requests.RequestException:  # refused, or accepted while the workers still boot
                return False

        stack.wait_for(ready, what=lambda: "gunicorn /readyz\n" + processes[0].log())
        assert requests.get(f"{base}/readyz", timeout=HTTP_SECONDS).json()["checks"] == {"database": "ok", "broker": "ok"}
        assert requests.get(f"{base}/healthz", timeout=HTTP_SECONDS).json() == {"status": "ok"}
        stack.wait_for(lambda: stack.worker_ready(processes[1]), what="the worker")

        browser = requests.Session()
        login_page = browser.get(f"{base}/accounts/login/", timeout=HTTP_SECONDS)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text).group(1)
        after_login = browser.post(
            f"{base}/accounts/login/",
            data={"username": "clerk", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=HTTP_SECONDS,
        )
        assert after_login.url.rstrip("/") == base, after_login.text[:500]

        # Static files come from the collected, hashed manifest through whitenoise.
        css = re.search(r'href="(/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css)"', after_login.text)
        assert css, "the page does not link the hashed bootstrap css"
        static = requests.get(base + css.group(1), timeout=HTTP_SECONDS)
        assert static.status_code == 200 and "max-age" in static.headers.get("Cache-Control", "")

        with SAMPLE.open("rb") as upload:
            created = browser.post(
                f"{base}/api/v1/imports/",
                data={"kind": "responses", "survey": SURVEY},
                files={"file": (SAMPLE.name, upload, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")},
                headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{base}/"},
                timeout=HTTP_SECONDS,
            )
        assert created.status_code == 202, created.text[:1000]
        job_url = f"{base}/api/v1/imports/{created.json()['id']}/"
        job = stack.wait_for(
            lambda: (body := browser.get(job_url, timeout=HTTP_SECONDS).json())["status"] not in ("pending", "running") and body,
            interval=0.3,
            what=lambda: "the import job\n" + processes[1].log(),
        )
        assert job["status"] == "succeeded", job

        satisfaction, loyalty, n = expected_headline()

        def first_page_numbers():
            page = browser.get(f"{base}/", timeout=HTTP_SECONDS).text
            found = re.search(r'id="headline-satisfaction">([^<]*)<', page)
            return found and found.group(1).strip() == satisfaction and page

        page = stack.wait_for(first_page_numbers, interval=0.5, what=lambda: "the recompute\n" + processes[1].log())
        assert re.search(r'id="headline-loyalty">([^<]*)<', page).group(1).strip() == loyalty
        assert f"n = {n}" in page
        metrics = browser.get(f"{base}/api/v1/metrics/", params={"survey": SURVEY}, timeout=HTTP_SECONDS).json()
        rows = metrics["results"] if isinstance(metrics, dict) and "results" in metrics else metrics
        headline = next(r for r in rows if r["port"] is None and r["project"] is None and r["stage"] is None)
        assert headline["n"] == n
        assert f"{headline['satisfaction_rate'] * 100:.1f}%" == satisfaction
    finally:
        for process in reversed(processes):
            process.stop()
        redis.Redis.from_url(broker).flushdb()
    assert not any(p.alive() for p in processes)
