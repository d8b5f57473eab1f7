"""Reminders on a wave's schedule, at their bounds: due after the set days, at most N per owner (the N+1th never),
never to an owner who answered or opted out, never between 21:00 and 09:00 Shanghai time (held until 09:00).

The clock is passed in (``now``): no frozen time needed, and the tests do not depend on when they run.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from online.messaging import invitations_send, messages_deliver, owner_opt_out
from online.models import MessageStatus, MessageTemplate, OutboundMessage, ReminderPolicy
from online.reminders import reminders_queue
from online.tasks import send_due_messages
from surveys.models import Channel
from surveys.services import response_submit, survey_close
from tests.online_messaging_world import *  # noqa: F403 - the fixtures

SH = ZoneInfo("Asia/Shanghai")
INVITED = datetime(2026, 12, 1, 10, 0, tzinfo=SH)


def invite(wave, owners, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=owners, channel="sms", now=INVITED)
    messages_deliver(now=INVITED)


def run(now):
    """What the beat's task does, at ``now``."""
    queued = reminders_queue(now=now)
    return queued, messages_deliver(now=now)


def reminders_to(owner):
    return list(OutboundMessage.objects.filter(owner=owner, template=MessageTemplate.REMINDER).order_by("id"))


def test_reminders_come_on_schedule_and_stop_at_the_maximum(wave, residents, outbox, settings):
    zhang = residents["zhang"]
    ReminderPolicy.objects.create(survey=wave, first_after_days=3, interval_days=2, max_reminders=2)
    invite(wave, [zhang], settings)
    assert len(outbox) == 1
    # Not before three days.
    assert run(INVITED + timedelta(days=3) - timedelta(minutes=1)) == (0, {"sent": 0, "failed": 0, "skipped": 0})
    # The first at three days, then nothing until two days later.
    assert run(INVITED + timedelta(days=3))[0] == 1
    assert run(INVITED + timedelta(days=4))[0] == 0
    # The Nth (2nd) at five days.
    assert run(INVITED + timedelta(days=5))[0] == 1
    # The N+1th never.
    for days in (7, 9, 30):
        assert run(INVITED + timedelta(days=days))[0] == 0
    assert [r.status for r in reminders_to(zhang)] == [MessageStatus.SENT, MessageStatus.SENT]
    assert len(outbox) == 3
    assert "尚未收到您的答卷" in outbox[-1].text


def test_a_reminder_due_at_night_is_held_until_nine(wave, residents, outbox, settings):
    ReminderPolicy.objects.create(survey=wave, first_after_days=3, interval_days=2, max_reminders=1)
    invite(wave, [residents["zhang"]], settings)
    night = datetime(2026, 12, 4, 21, 0, tzinfo=SH)
    assert run(datetime(2026, 12, 4, 20, 59, tzinfo=SH)) == (1, {"sent": 1, "failed": 0, "skipped": 0})
    outbox.clear()
    OutboundMessage.objects.filter(template=MessageTemplate.REMINDER).delete()  # the same owner, due again at 21:00
    assert run(night)[0] == 1
    [held] = reminders_to(residents["zhang"])
    assert held.status == MessageStatus.QUEUED and held.not_before == datetime(2026, 12, 5, 9, 0, tzinfo=SH)
    assert run(datetime(2026, 12, 5, 8, 59, tzinfo=SH)) == (0, {"sent": 0, "failed": 0, "skipped": 0})
    assert outbox == []
    assert run(datetime(2026, 12, 5, 9, 0, tzinfo=SH)) == (0, {"sent": 1, "failed": 0, "skipped": 0})
    assert len(outbox) == 1


def test_no_reminder_to_an_owner_who_answered_in_any_way(wave, residents, outbox, settings):
    ReminderPolicy.objects.create(survey=wave, first_after_days=1, interval_days=1, max_reminders=3)
    invite(wave, [residents["zhang"], residents["li"]], settings)
    response_submit(survey=wave, owner=residents["li"], questionnaire_no="phone-1", surveyed_on=INVITED.date(),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4}, channel=Channel.PHONE)
    assert run(INVITED + timedelta(days=1))[0] == 1
    assert reminders_to(residents["li"]) == [] and len(reminders_to(residents["zhang"])) == 1


def test_no_reminder_to_an_owner_who_opted_out(wave, residents, outbox, settings):
    ReminderPolicy.objects.create(survey=wave, first_after_days=1, interval_days=1, max_reminders=3)
    invite(wave, [residents["zhang"], residents["li"]], settings)
    owner_opt_out(owner=residents["zhang"], now=INVITED)
    assert run(INVITED + timedelta(days=1))[0] == 1
    assert reminders_to(residents["zhang"]) == []


def test_an_owner_who_answers_after_the_reminder_was_queued_is_skipped(wave, residents, outbox, settings):
    ReminderPolicy.objects.create(survey=wave, first_after_days=1, interval_days=1, max_reminders=3)
    invite(wave, [residents["zhang"]], settings)
    reminders_queue(now=datetime(2026, 12, 2, 22, 0, tzinfo=SH))  # due at night: held
    response_submit(survey=wave, owner=residents["zhang"], questionnaire_no="k-1", surveyed_on=INVITED.date(),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4}, channel=Channel.PHONE)
    assert messages_deliver(now=datetime(2026, 12, 3, 9, 0, tzinfo=SH))["skipped"] == 1
    assert len(outbox) == 1  # the invitation only


def test_no_reminders_without_a_schedule_when_it_is_off_or_the_wave_closed(wave, residents, outbox, settings, staff):
    invite(wave, [residents["zhang"]], settings)
    assert run(INVITED + timedelta(days=30))[0] == 0  # no schedule
    policy = ReminderPolicy.objects.create(survey=wave, enabled=False, first_after_days=1, max_reminders=3)
    assert run(INVITED + timedelta(days=30))[0] == 0
    policy.enabled = True
    policy.save(update_fields=["enabled"])
    survey_close(survey=wave, user=staff)
    assert run(INVITED + timedelta(days=30))[0] == 0


def test_no_reminder_for_an_owner_whose_invitation_never_went_out(wave, residents, outbox, settings):
    from online.services import invitations_issue

    ReminderPolicy.objects.create(survey=wave, first_after_days=1, interval_days=1, max_reminders=3)
    invitations_issue(survey=wave, owners=[residents["zhang"]], now=INVITED)  # a link handed out on paper
    assert run(INVITED + timedelta(days=5))[0] == 0


def test_the_beat_task_queues_and_sends(wave, residents, outbox, settings, monkeypatch):
    ReminderPolicy.objects.create(survey=wave, first_after_days=1, interval_days=1, max_reminders=1)
    invite(wave, [residents["zhang"]], settings)
    monkeypatch.setattr("django.utils.timezone.now", lambda: INVITED + timedelta(days=1, hours=1))
    assert send_due_messages() == {"reminders_queued": 1, "sent": 1, "failed": 0, "skipped": 0}
    assert send_due_messages() == {"reminders_queued": 0, "sent": 0, "failed": 0, "skipped": 0}


def test_staff_set_the_schedule_on_the_page_and_bad_numbers_are_refused_in_chinese(wave, staff):
    from django.test import Client

    client = Client()
    client.force_login(staff)
    url = "/online/waves/2026-annual/messages/"
    bad = client.post(url, {"action": "policy", "policy-enabled": "on", "policy-channel": "sms",
                            "policy-first_after_days": "3", "policy-interval_days": "0", "policy-max_reminders": "11"})
    text = bad.content.decode()
    assert bad.status_code == 200 and "提醒间隔为 1–60 天" in text and "每位业主最多提醒 10 次" in text
    assert not ReminderPolicy.objects.exists()
    good = client.post(url, {"action": "policy", "policy-enabled": "on", "policy-channel": "sms",
                             "policy-first_after_days": "2", "policy-interval_days": "3", "policy-max_reminders": "2"})
    assert good.status_code == 302
    policy = ReminderPolicy.objects.get(survey=wave)
    assert (policy.enabled, policy.first_after_days, policy.interval_days, policy.max_reminders) == (True, 2, 3, 2)


def test_an_owner_with_no_address_for_the_reminder_channel_gets_no_rows_run_after_run(wave, residents, outbox, settings):
    ReminderPolicy.objects.create(survey=wave, channel="email", first_after_days=1, interval_days=1, max_reminders=2)
    invite(wave, [residents["zhang"]], settings)  # by SMS; no e-mail address on file
    for hours in (24, 25, 26, 72):
        run(INVITED + timedelta(hours=hours))
    assert reminders_to(residents["zhang"]) == []
