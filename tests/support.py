"""What the test suite needs from the machine, and how to tell whether it is there."""

import os
import shutil
import socket
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# How long a wait for a process, a worker or a page may last before the test is declared hung. No test asserts a
# duration (speed goals live in bench/): a wait ends as soon as its condition holds, and this limit only stops a test
# that would otherwise wait forever, so it is generous enough for a busy shared machine many times slower than a
# quiet one.
HUNG_SECONDS = 300
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def redis_available() -> bool:
    return port_open("127.0.0.1", 6379)


# The survey firm's sample delivery (shared/samples/), copied so the suite runs wherever the clone lives.
SAMPLE_XLSX = Path(__file__).resolve().parent / "data" / "survey-firm-sample.xlsx"


def answer_once(survey, *, project=None):
    """One response in ``survey`` (a wave nobody answered is never the latest survey pages default to)."""
    from datetime import date

    from owners.models import Owner, Project
    from surveys.services import response_submit

    project = project or Project.objects.get_or_create(code="ANSWERED", defaults={"name": "已答楼盘"})[0]
    owner = Owner.objects.create(project=project, unit=f"answer-{survey.pk}", name="答卷业主")
    response_submit(survey=survey, owner=owner, questionnaire_no=f"answer-{survey.pk}", surveyed_on=date(2026, 1, 5),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4})
