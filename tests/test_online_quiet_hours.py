"""No message to owners between 21:00 and 09:00 Asia/Shanghai, whatever the server's clock zone; due ones wait
for 09:00. And the reminder schedule: the k-th reminder after first + (k-1) × interval days, never more than N."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from online.reminders import next_send_at, quiet_hours, reminder_due_at

SH = ZoneInfo("Asia/Shanghai")


def at(hour, minute=0, day=1):
    return datetime(2026, 12, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("when", "quiet"),
    [(at(20, 59), False), (at(21, 0), True), (at(23, 59), True), (at(0, 0), True), (at(8, 59), True), (at(9, 0), False),
     (at(12, 0), False)],
)
def test_quiet_hours_at_their_bounds(when, quiet):
    assert quiet_hours(when) is quiet
    assert quiet_hours(when.astimezone(UTC)) is quiet  # the same instant seen from UTC


def test_a_message_due_at_night_waits_until_nine_the_same_or_next_morning():
    assert next_send_at(at(20, 59)) == at(20, 59)
    assert next_send_at(at(21, 0)) == at(9, 0, day=2)
    assert next_send_at(at(23, 30)) == at(9, 0, day=2)
    assert next_send_at(at(0, 10, day=2)) == at(9, 0, day=2)
    assert next_send_at(at(8, 59, day=2)) == at(9, 0, day=2)
    assert next_send_at(at(9, 0, day=2)) == at(9, 0, day=2)
    # 13:30 UTC is 21:30 in Shanghai: held until 01:00 UTC the next day.
    assert next_send_at(datetime(2026, 12, 1, 13, 30, tzinfo=UTC)) == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def test_the_quiet_hours_follow_the_settings(settings):
    settings.ONLINE_QUIET_START, settings.ONLINE_QUIET_END = 20, 8
    assert quiet_hours(at(20, 0)) and not quiet_hours(at(8, 0))
    assert next_send_at(at(22, 0)) == at(8, 0, day=2)


@dataclass
class Policy:
    enabled: bool = True
    first_after_days: int = 3
    interval_days: int = 2
    max_reminders: int = 2


INVITED = at(10, 0)


def test_the_first_reminder_is_due_first_after_days_after_the_invitation():
    assert reminder_due_at(invited_at=INVITED, reminders_so_far=0, last_reminder_at=None, policy=Policy()) == (
        INVITED + timedelta(days=3)
    )


def test_the_nth_reminder_is_due_and_the_n_plus_first_never():
    policy = Policy(max_reminders=2)
    second = reminder_due_at(invited_at=INVITED, reminders_so_far=1, last_reminder_at=INVITED + timedelta(days=3),
                             policy=policy)
    assert second == INVITED + timedelta(days=5)
    assert reminder_due_at(invited_at=INVITED, reminders_so_far=2, last_reminder_at=second, policy=policy) is None


def test_a_late_reminder_pushes_the_next_one_by_a_full_interval():
    late = INVITED + timedelta(days=4, hours=23)  # the first one went out a day late (the nights, a gateway outage)
    due = reminder_due_at(invited_at=INVITED, reminders_so_far=1, last_reminder_at=late, policy=Policy())
    assert due == late + timedelta(days=2)


def test_no_reminder_when_the_schedule_is_off_or_allows_none():
    assert reminder_due_at(invited_at=INVITED, reminders_so_far=0, last_reminder_at=None, policy=Policy(enabled=False)) is None
    assert reminder_due_at(invited_at=INVITED, reminders_so_far=0, last_reminder_at=None, policy=Policy(max_reminders=0)) is None
