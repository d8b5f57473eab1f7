"""Online answers on PostgreSQL: owners' answers share the wave's lock (they do not wait for each other), while
closing the wave still waits for them, and an exclusive writer (keyed entry, import) too."""

import threading
from datetime import date

import pytest
from django.db import OperationalError, connection, connections, transaction

from online.services import invitation_answer, invitations_issue
from owners.models import Owner, Project
from surveys.models import Response
from surveys.services import survey_close, survey_create, survey_lock_open

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
SCORES = {"overall": 5, "repurchase": 4, "recommend": 4}


def in_thread(work) -> str:
    """Run ``work`` on a connection of its own with a short lock timeout; 'ok' or the error's class name."""
    outcome = []

    def run():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                work()
            outcome.append("ok")
        except OperationalError as exc:
            outcome.append(type(exc.__cause__ or exc).__name__)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return outcome[0]


def test_answers_share_the_wave_lock_and_closing_waits_for_them():
    assert connection.vendor == "postgresql"
    survey = survey_create(code="2026-annual", name="2026 年度", starts_on=date(2026, 1, 1))
    project = Project.objects.create(code="LAKE", name="湖畔")
    first, second = (Owner.objects.create(project=project, unit=f"1-{n}", name=f"业主{n}") for n in (1, 2))
    one, two = invitations_issue(survey=survey, owners=[first, second])
    with transaction.atomic():
        survey_lock_open(survey_id=survey.pk, shared=True)  # an owner's answer in the middle of its transaction
        assert in_thread(lambda: invitation_answer(invitation=two, scores=SCORES)) == "ok"
        assert in_thread(lambda: survey_lock_open(survey_id=survey.pk)) == "LockNotAvailable"
        assert in_thread(lambda: survey_close(survey=survey)) == "LockNotAvailable"
    invitation_answer(invitation=one, scores=SCORES)
    assert Response.objects.filter(survey=survey, channel="online").count() == 2
    survey_close(survey=survey)
    assert survey.closed_at is not None
