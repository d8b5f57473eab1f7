"""Invitations by SMS and e-mail: queued, sent through the configured backend, held over the night, recorded
with the outcome and a masked recipient; never to owners who answered or opted out."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from online.messaging import SmsResult, invitations_send, messages_deliver, owner_opt_out
from online.models import MessageStatus, OutboundMessage, OwnerMessaging, SurveyInvitation
from surveys.models import Channel
from surveys.services import response_submit
from tests.online_messaging_world import *  # noqa: F403 - the fixtures

SH = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 12, 1, 12, 0, tzinfo=SH)
NIGHT = datetime(2026, 12, 1, 22, 30, tzinfo=SH)


def answered(wave, owner):
    response_submit(survey=wave, owner=owner, questionnaire_no=f"k-{owner.pk}", surveyed_on=NOON.date(),
                    scores={"overall": 5, "repurchase": 4, "recommend": 4}, channel=Channel.PHONE)


def test_an_invitation_goes_out_by_sms_with_the_personal_link_and_is_recorded_masked(wave, residents, outbox):
    zhang = residents["zhang"]
    counts = invitations_send(survey=wave, owners=[zhang], channel="sms", now=NOON)
    assert counts["queued"] == 1
    messages_deliver(now=NOON)
    [sms] = outbox
    invitation = SurveyInvitation.objects.get(survey=wave, owner=zhang)
    assert sms.to == "13812345678"
    assert f"/o/{invitation.token}/" in sms.text and f"/o/{invitation.token}/stop/" in sms.text
    assert "张*业主" in sms.text and "张三" not in sms.text
    record = OutboundMessage.objects.get()
    assert (record.channel, record.template, record.status) == ("sms", "invitation", MessageStatus.SENT)
    assert record.recipient == "138****5678"
    assert record.invitation == invitation and record.sent_at is not None


def test_at_night_the_invitation_waits_until_nine_and_then_goes(wave, residents, outbox, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # nothing delivered behind the test's back
    invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NIGHT)
    record = OutboundMessage.objects.get()
    assert record.status == MessageStatus.QUEUED
    assert record.not_before == datetime(2026, 12, 2, 9, 0, tzinfo=SH)
    assert messages_deliver(now=NIGHT)["sent"] == 0
    assert messages_deliver(now=datetime(2026, 12, 2, 8, 59, tzinfo=SH))["sent"] == 0
    assert outbox == []
    assert messages_deliver(now=datetime(2026, 12, 2, 9, 0, tzinfo=SH))["sent"] == 1
    assert len(outbox) == 1


def test_answered_opted_out_and_unreachable_owners_get_nothing(wave, residents, outbox):
    answered(wave, residents["li"])
    owner_opt_out(owner=residents["wang"], now=NOON)
    counts = invitations_send(survey=wave, owners=list(residents.values()), channel="sms", now=NOON)
    assert counts == {"queued": 1, "answered": 1, "opted_out": 1, "no_address": 1, "pending": 0}
    messages_deliver(now=NOON)
    assert [sms.to for sms in outbox] == ["13812345678"]


def test_sending_twice_before_delivery_queues_one_message(wave, residents, outbox, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NIGHT)
    counts = invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NIGHT)
    assert counts["queued"] == 0 and counts["pending"] == 1
    assert OutboundMessage.objects.count() == 1


def test_an_owner_who_answers_or_opts_out_while_queued_is_skipped_at_sending(wave, residents, outbox, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"], residents["li"]], channel="sms", now=NIGHT)
    answered(wave, residents["zhang"])
    owner_opt_out(owner=residents["li"], now=NIGHT)
    assert messages_deliver(now=datetime(2026, 12, 2, 9, 0, tzinfo=SH)) == {"sent": 0, "failed": 0, "skipped": 2}
    assert outbox == []
    assert sorted(OutboundMessage.objects.values_list("error", flat=True)) == ["业主已答卷", "业主已退订"]


class RefusingGateway:
    def send(self, message):
        return SmsResult(ok=False, error=f"isv.MOBILE_NUMBER_ILLEGAL: {message.to} 号码无效")


def test_a_gateway_refusal_is_recorded_as_failed_with_the_phone_masked_in_the_error(wave, residents, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NOON)
    assert messages_deliver(now=NOON, backend=RefusingGateway()) == {"sent": 0, "failed": 1, "skipped": 0}
    record = OutboundMessage.objects.get()
    assert record.status == MessageStatus.FAILED and record.sent_at is None
    assert record.error == "isv.MOBILE_NUMBER_ILLEGAL: 138****5678 号码无效"


def test_an_invitation_by_e_mail_goes_through_djangos_mail_backend(wave, residents, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    OwnerMessaging.objects.create(owner=residents["zhang"], email="zhang.san@example.com")
    counts = invitations_send(survey=wave, owners=[residents["zhang"], residents["li"]], channel="email", now=NOON)
    assert counts["queued"] == 1 and counts["no_address"] == 1
    messages_deliver(now=NOON)
    [message] = mail.outbox
    assert message.to == ["zhang.san@example.com"]
    assert "2026 年度满意度调查" in message.subject and "/o/" in message.body
    assert OutboundMessage.objects.get().recipient == "z***@example.com"


def test_two_deliveries_at_once_send_each_message_once(wave, residents, outbox, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"], residents["li"]], channel="sms", now=NOON)
    first = messages_deliver(now=NOON)
    second = messages_deliver(now=NOON)
    assert first["sent"] == 2 and second["sent"] == 0
    assert len(outbox) == 2


def test_the_stop_link_asks_first_and_then_opts_the_owner_out(wave, residents):
    from online.services import invitations_issue

    [invitation] = invitations_issue(survey=wave, owners=[residents["zhang"]])
    client = Client()
    page = client.get(f"/o/{invitation.token}/stop/")
    assert page.status_code == 200 and "确认退订" in page.content.decode()
    assert not OwnerMessaging.objects.filter(opted_out_at__isnull=False).exists()
    done = client.post(f"/o/{invitation.token}/stop/")
    assert "已退订" in done.content.decode()
    assert OwnerMessaging.objects.get(owner=residents["zhang"]).opted_out_at is not None
    assert client.get(f"/o/{invitation.token}x/stop/").status_code == 404


def test_staff_send_invitations_to_one_project_from_the_page_and_see_the_masked_record(
    wave, residents, outbox, staff
):
    client = Client()
    client.force_login(staff)
    page = client.get("/online/waves/2026-annual/messages/")
    assert page.status_code == 200
    answer = client.post("/online/waves/2026-annual/messages/", {
        "action": "send", "send-scope": "project", "send-project": residents["zhang"].project_id, "send-channel": "sms",
    }, follow=True)
    text = answer.content.decode()
    assert "已排队发送 2 条邀请" in text and "无联系方式 1" in text
    assert "138****5678" in text and "13812345678" not in text
    assert "待发送" in text  # the outcome's label, not its code
    # The page queued them at the real clock (not_before = now, or 09:00 next if it is night in Shanghai): deliver at
    # noon of the next day, a daytime moment after whatever the clock said.
    next_noon = (timezone.now().astimezone(SH) + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    messages_deliver(now=next_noon)
    assert sorted(sms.to for sms in outbox) == ["13812345678", "13900001111"]


def test_staff_sending_to_units_not_in_the_project_are_told_which_and_nothing_is_sent(wave, residents, outbox, staff):
    client = Client()
    client.force_login(staff)
    answer = client.post("/online/waves/2026-annual/messages/", {
        "action": "send", "send-scope": "units", "send-project": residents["zhang"].project_id,
        "send-units": "1-1-101\n9-9-999", "send-channel": "sms",
    })
    assert answer.status_code == 200
    assert "楼盘中没有这些房号：9-9-999" in answer.content.decode()
    assert "1-1-101\n9-9-999" in answer.content.decode()
    assert OutboundMessage.objects.count() == 0 and outbox == []


def test_a_department_head_may_not_send_invitations(wave, residents, engineering_head):
    client = Client()
    client.force_login(engineering_head)
    assert client.get("/online/waves/2026-annual/messages/").status_code == 403


def test_the_beat_schedule_runs_the_reminder_task():
    from django.conf import settings

    from online.tasks import send_due_messages

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert send_due_messages.name in tasks


@pytest.mark.parametrize("status", [MessageStatus.SENT, MessageStatus.FAILED])
def test_the_admin_shows_the_record_read_only_with_masked_recipients(wave, residents, admin_client, status):
    from online.services import invitations_issue

    [invitation] = invitations_issue(survey=wave, owners=[residents["zhang"]])
    OutboundMessage.objects.create(invitation=invitation, survey=wave, owner=residents["zhang"], channel="sms",
                                   template="invitation", recipient="138****5678", status=status,
                                   created_at=NOON, not_before=NOON)
    page = admin_client.get("/admin/online/outboundmessage/")
    assert page.status_code == 200
    assert "138****5678" in page.content.decode() and "13812345678" not in page.content.decode()
    assert admin_client.get("/admin/online/outboundmessage/add/").status_code == 403


def test_utc_noon_is_evening_in_shanghai_and_holds_the_message(wave, residents, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms",
                     now=datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    assert OutboundMessage.objects.get().not_before == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def test_the_delivery_task_runs_when_the_sending_transaction_commits(
    wave, residents, outbox, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOON.astimezone(UTC))
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NOON)
    assert [sms.to for sms in outbox] == ["13812345678"]
    assert OutboundMessage.objects.get().status == MessageStatus.SENT


def test_sending_to_many_owners_costs_a_fixed_number_of_queries(wave, lake, settings, django_assert_max_num_queries):
    from owners.models import Owner

    settings.CELERY_TASK_ALWAYS_EAGER = False
    owners = [Owner.objects.create(project=lake, unit=f"9-1-{n}", name=f"业主{n}", phone=f"1380000{n:04d}")
              for n in range(60)]
    for owner in owners[:30]:
        OwnerMessaging.objects.create(owner=owner, email=f"o{owner.pk}@example.com")
    with django_assert_max_num_queries(15):
        counts = invitations_send(survey=wave, owners=owners, channel="email", now=NOON)
    assert counts["queued"] == 30 and counts["no_address"] == 30


def test_an_anonymised_owner_gets_no_message_and_loses_the_e_mail_address(wave, residents, outbox, settings):
    from online.messaging import anonymised_contacts_scrub
    from owners.privacy import owners_anonymise

    settings.CELERY_TASK_ALWAYS_EAGER = False
    OwnerMessaging.objects.create(owner=residents["zhang"], email="zhang.san@example.com")
    invitations_send(survey=wave, owners=[residents["zhang"]], channel="email", now=NOON)
    later = datetime(2040, 1, 1, 12, 0, tzinfo=SH)
    assert residents["zhang"].pk in owners_anonymise(now=later, retention_days=365)
    assert messages_deliver(now=later)["skipped"] == 1
    assert mail.outbox == []
    assert anonymised_contacts_scrub() == 1
    assert OwnerMessaging.objects.get(owner=residents["zhang"]).email == ""


def test_with_the_broker_away_the_send_still_succeeds_and_the_messages_wait_for_the_beat(
    wave, residents, outbox, monkeypatch, django_capture_on_commit_callbacks
):
    from online import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.send_due_messages, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        counts = invitations_send(survey=wave, owners=[residents["zhang"]], channel="sms", now=NOON)
    assert counts["queued"] == 1
    assert OutboundMessage.objects.get().status == MessageStatus.QUEUED
    assert messages_deliver(now=NOON)["sent"] == 1 and len(outbox) == 1


def test_a_message_left_sending_by_a_dead_worker_is_closed_as_failed_not_sent_twice(wave, residents, outbox, settings):

    settings.CELERY_TASK_ALWAYS_EAGER = False
    invitations_send(survey=wave, owners=[residents["zhang"], residents["li"]], channel="sms", now=NOON)
    stuck, fresh = OutboundMessage.objects.order_by("id")
    OutboundMessage.objects.filter(pk=stuck.pk).update(status=MessageStatus.SENDING, sent_at=NOON - timedelta(minutes=20))
    OutboundMessage.objects.filter(pk=fresh.pk).update(status=MessageStatus.SENDING, sent_at=NOON - timedelta(minutes=5))
    messages_deliver(now=NOON)
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, stuck.error, stuck.sent_at) == (MessageStatus.FAILED, "发送中断，结果未知", None)
    assert fresh.status == MessageStatus.SENDING  # may still be on its way
    assert outbox == []
