"""Reminders to owners who have not answered a wave, on the wave's schedule, and the night-time rule for all
messages: nothing goes out between ``ONLINE_QUIET_START`` (21:00) and ``ONLINE_QUIET_END`` (09:00), Asia/Shanghai;
a message due at night waits until 09:00.

The rules are pure functions of ``now`` (``quiet_hours``, ``next_send_at``, ``reminder_due_at``); ``reminders_queue``
applies them to the database and queues what is due; ``online.messaging.messages_deliver`` sends the queue.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q

SHANGHAI = ZoneInfo("Asia/Shanghai")


def quiet_hours(now: datetime) -> bool:
    """Whether ``now`` (aware) falls in the night when owners get no message: [21:00, 09:00) Shanghai time."""
    start, end = settings.ONLINE_QUIET_START, settings.ONLINE_QUIET_END
    local = now.astimezone(SHANGHAI).time()
    return local >= time(start) or local < time(end)


def next_send_at(now: datetime) -> datetime:
    """``now`` when a message may go out now, else the next 09:00 Shanghai time (the same morning or the next)."""
    if not quiet_hours(now):
        return now
    local = now.astimezone(SHANGHAI)
    morning = local.replace(hour=settings.ONLINE_QUIET_END, minute=0, second=0, microsecond=0)
    if local.time() >= time(settings.ONLINE_QUIET_END):
        morning += timedelta(days=1)
    return morning


def reminder_due_at(
    *, invited_at: datetime, reminders_so_far: int, last_reminder_at: datetime | None, policy
) -> datetime | None:
    """When the owner's next reminder is due, or None once ``max_reminders`` were sent (or queued, or tried).

    Reminder k (1-based) is due ``first_after_days + (k - 1) × interval_days`` days after the invitation went out,
    and never sooner than ``interval_days`` after the owner's last reminder (one held over nights or a failed
    gateway does not bring the next on its heels).
    """
    if not policy.enabled or reminders_so_far >= policy.max_reminders:
        return None
    due = invited_at + timedelta(days=policy.first_after_days + reminders_so_far * policy.interval_days)
    if last_reminder_at is not None:
        due = max(due, last_reminder_at + timedelta(days=policy.interval_days))
    return due


def reminders_queue(*, now: datetime) -> int:
    """Queue the reminders due at ``now`` for every open wave with reminders on; how many were queued.

    Only owners with a live invitation whose invitation message went out, who have not answered (online or
    otherwise), have not opted out and are below the wave's maximum. Each run queues at most one per owner.
    """
    from online.models import ReminderPolicy

    queued = 0
    today = now.astimezone(SHANGHAI).date()
    policies = (
        ReminderPolicy.objects.filter(enabled=True, max_reminders__gt=0, survey__closed_at__isnull=True)
        .filter(Q(survey__ends_on__isnull=True) | Q(survey__ends_on__gte=today))
        .order_by("survey_id")
    )
    for policy_id in list(policies.values_list("id", flat=True)):
        with transaction.atomic():
            # One run per wave at a time (the beat's and those after each send): the second waits here, then sees
            # the first one's reminders as pending or sent and queues none twice.
            policy = ReminderPolicy.objects.select_for_update().select_related("survey").get(pk=policy_id)
            queued += _queue_for_policy(policy=policy, now=now)
    return queued


def _queue_for_policy(*, policy, now: datetime) -> int:
    """The reminders of one wave due at ``now`` (under the lock of its schedule row)."""
    from online.messaging import recipient_of
    from online.models import MessageStatus, MessageTemplate, OutboundMessage, OwnerMessaging, SurveyInvitation
    from surveys.models import Response

    survey = policy.survey
    mine = OutboundMessage.objects.filter(survey=survey, owner=OuterRef("owner")).exclude(
        status=MessageStatus.SKIPPED
    )
    candidates = (
        SurveyInvitation.objects.filter(survey=survey, revoked_at__isnull=True, answered_at__isnull=True)
        .exclude(Exists(Response.objects.filter(survey=survey, owner=OuterRef("owner"))))
        .exclude(Exists(OwnerMessaging.objects.filter(owner=OuterRef("owner"), opted_out_at__isnull=False)))
        .filter(Exists(mine.filter(template=MessageTemplate.INVITATION, status=MessageStatus.SENT)))
        .select_related("owner", "owner__messaging")
        .order_by("id")
    )
    history = {
        row["owner"]: row
        for row in OutboundMessage.objects.filter(survey=survey, owner__in=candidates.values("owner"))
        .exclude(status=MessageStatus.SKIPPED)
        .values("owner")
        .annotate(
            invited_at=Min("sent_at", filter=Q(template=MessageTemplate.INVITATION, status=MessageStatus.SENT)),
            reminders=Count("id", filter=Q(template=MessageTemplate.REMINDER)),
            last_at=Max("created_at", filter=Q(template=MessageTemplate.REMINDER)),
            pending=Count("id", filter=Q(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])),
        )
    }
    new = []
    for invitation in list(candidates):
        row = history.get(invitation.owner_id)
        if row is None or row["pending"] or row["invited_at"] is None:
            continue
        if not recipient_of(invitation.owner, policy.channel):  # invited by SMS, reminders by e-mail: none on file
            continue
        due = reminder_due_at(
            invited_at=row["invited_at"], reminders_so_far=row["reminders"], last_reminder_at=row["last_at"],
            policy=policy,
        )
        if due is None or due > now:
            continue
        new.append(
            OutboundMessage(
                invitation=invitation, survey=survey, owner=invitation.owner, channel=policy.channel,
                template=MessageTemplate.REMINDER, recipient=recipient_of(invitation.owner, policy.channel, masked=True),
                created_at=now, not_before=next_send_at(now),
            )
        )
    OutboundMessage.objects.bulk_create(new, batch_size=500)
    return len(new)
