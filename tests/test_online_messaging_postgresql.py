"""On PostgreSQL, four workers delivering the same queue at once send every message exactly once (each is claimed
by a conditional update before it is sent)."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from online.messaging import SmsResult, invitations_send, messages_deliver
from online.models import MessageStatus, OutboundMessage
from owners.models import Owner, Project
from surveys.services import survey_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Noon of the day after the real clock: the sends' on-commit task delivers what is due by the real clock, so the
# test's moment must lie ahead of it (a fixed noon started failing once that noon had passed).
NOON = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


class CountingGateway:
    def __init__(self):
        self.sent = []
        self.lock = threading.Lock()

    def send(self, message):
        with self.lock:
            self.sent.append(message.to)
        return SmsResult(ok=True, provider_id="x")


def test_four_workers_at_once_send_each_queued_message_once(settings):
    assert connection.vendor == "postgresql"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查")
    project = Project.objects.create(code="LAKE", name="湖畔")
    owners = [Owner.objects.create(project=project, unit=f"1-1-{n}", name=f"业主{n}", phone=f"1380000{n:04d}")
              for n in range(200)]
    invitations_send(survey=survey, owners=owners, channel="sms", now=NOON)
    gateway = CountingGateway()
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            messages_deliver(now=NOON, backend=gateway)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(gateway.sent) == 200 and len(set(gateway.sent)) == 200
    assert OutboundMessage.objects.filter(status=MessageStatus.SENT).count() == 200


def test_two_reminder_runs_at_once_queue_each_owners_reminder_once(settings):

    from online.models import MessageTemplate, ReminderPolicy
    from online.reminders import reminders_queue

    settings.CELERY_TASK_ALWAYS_EAGER = False
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查")
    project = Project.objects.create(code="LAKE", name="湖畔")
    owners = [Owner.objects.create(project=project, unit=f"1-1-{n}", name=f"业主{n}", phone=f"1380000{n:04d}")
              for n in range(300)]
    invitations_send(survey=survey, owners=owners, channel="sms", now=NOON)
    messages_deliver(now=NOON, backend=CountingGateway())
    ReminderPolicy.objects.create(survey=survey, first_after_days=1, interval_days=1, max_reminders=2)
    later = NOON + timedelta(days=1)
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def run():
        try:
            barrier.wait()
            counts.append(reminders_queue(now=later))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(counts) == [0, 300]
    assert OutboundMessage.objects.filter(template=MessageTemplate.REMINDER).count() == 300


def test_two_sends_at_once_to_the_same_owners_queue_each_invitation_once(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查")
    project = Project.objects.create(code="LAKE", name="湖畔")
    owners = [Owner.objects.create(project=project, unit=f"1-1-{n}", name=f"业主{n}", phone=f"1380000{n:04d}")
              for n in range(300)]
    barrier = threading.Barrier(2)
    counts, errors = [], []

    def send():
        try:
            barrier.wait()
            counts.append(invitations_send(survey=survey, owners=owners, channel="sms", now=NOON)["queued"])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(counts) == [0, 300]
    assert OutboundMessage.objects.count() == 300
