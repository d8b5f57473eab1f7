"""Callback plans: who is due at and around the window bounds, recording outcomes, headline scores into metrics."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from feedback.models import Callback, CallbackRule, Feedback
from feedback.selectors import OwnerSpec, RuleSpec, callback_due_items, callback_due_list
from feedback.services import callback_record
from owners.models import Owner, Project
from satisfaction.models import MetricSnapshot
from satisfaction.services import metrics_compute
from surveys.models import Response, Survey

THREE_MONTHS = RuleSpec(id=1, name="3个月", months=3, window_days=15)
SIX_MONTHS = RuleSpec(id=2, name="6个月", months=6, window_days=15)
TWELVE_MONTHS = RuleSpec(id=3, name="12个月", months=12, window_days=15)


def _due(move_in: date, today: date, rules=(THREE_MONTHS,), done=frozenset()):
    return callback_due_items(owners=[OwnerSpec(7, move_in)], rules=list(rules), today=today, done=set(done))


def test_an_owner_is_due_exactly_three_months_after_moving_in():
    [item] = _due(date(2026, 1, 10), date(2026, 4, 10))
    assert (item.owner_id, item.rule_id, item.due_on, item.days_to_due) == (7, 1, date(2026, 4, 10), 0)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2026, 3, 25), False),  # one day before the window opens (due − 16)
        (date(2026, 3, 26), True),  # the window's first day (due − 15)
        (date(2026, 4, 25), True),  # the window's last day (due + 15)
        (date(2026, 4, 26), False),  # one day after it closes (due + 16)
    ],
)
def test_the_window_includes_both_bounds_and_nothing_beyond(today, due):
    assert bool(_due(date(2026, 1, 10), today)) is due


def test_an_overdue_item_says_by_how_many_days():
    [item] = _due(date(2026, 1, 10), date(2026, 4, 20))
    assert item.days_to_due == -10 and item.days_overdue == 10


def test_a_move_in_on_29_february_is_due_on_28_february_a_year_later():
    [item] = _due(date(2024, 2, 29), date(2025, 2, 28), rules=[TWELVE_MONTHS])
    assert item.due_on == date(2025, 2, 28)
    assert _due(date(2024, 2, 29), date(2025, 2, 28) + timedelta(days=16), rules=[TWELVE_MONTHS]) == []
    assert _due(date(2024, 2, 29), date(2025, 2, 28) + timedelta(days=15), rules=[TWELVE_MONTHS]) != []


@pytest.mark.parametrize(
    ("move_in", "rule", "due_on"),
    [
        (date(2026, 1, 31), THREE_MONTHS, date(2026, 4, 30)),
        (date(2025, 8, 31), SIX_MONTHS, date(2026, 2, 28)),
        (date(2023, 8, 31), SIX_MONTHS, date(2024, 2, 29)),
        (date(2025, 12, 31), THREE_MONTHS, date(2026, 3, 31)),
    ],
)
def test_a_move_in_on_the_31st_falls_back_to_the_last_day_of_the_month(move_in, rule, due_on):
    [item] = _due(move_in, due_on, rules=[rule])
    assert item.due_on == due_on
    assert _due(move_in, due_on - timedelta(days=16), rules=[rule]) == []


def test_an_owner_not_moved_in_or_already_called_is_not_due():
    assert callback_due_items(owners=[OwnerSpec(1, None)], rules=[THREE_MONTHS], today=date(2026, 4, 10)) == []
    assert _due(date(2026, 1, 10), date(2026, 4, 10), done={(7, 1)}) == []


def test_several_rules_each_give_their_own_item():
    items = _due(date(2025, 4, 10), date(2026, 4, 10), rules=[THREE_MONTHS, SIX_MONTHS, TWELVE_MONTHS])
    assert [item.rule_id for item in items] == [3]
    # Windows wider than the gap between rules: an owner can be due under two rules at once.
    wide = [RuleSpec(1, "a", 3, 100), RuleSpec(2, "b", 6, 100)]
    assert [i.rule_id for i in _due(date(2026, 1, 1), date(2026, 5, 15), rules=wide)] == [1, 2]


# --- with the database -----------------------------------------------------------------------------------------


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园", unit_count=100)


@pytest.fixture
def today():
    return timezone.localdate()


def _owner(project, unit, move_in_date, phone="13812345678"):
    return Owner.objects.create(project=project, unit=unit, name=f"业主{unit}", phone=phone, move_in_date=move_in_date)


def test_the_seeded_rules_are_three_six_and_twelve_months(db):
    assert list(CallbackRule.objects.order_by("months_after_move_in").values_list("months_after_move_in", "window_days")) == [
        (3, 15), (6, 15), (12, 15)
    ]


def test_the_due_list_drops_an_owner_reached_or_refused_but_keeps_one_not_reached(project):
    today = date(2026, 4, 10)
    rule = CallbackRule.objects.get(months_after_move_in=3)
    reached = _owner(project, "1-101", date(2026, 1, 10))
    missed = _owner(project, "1-102", date(2026, 1, 12))
    _owner(project, "1-103", date(2025, 6, 1))  # not due under any rule
    assert [row.owner for row in callback_due_list(today=today)] == [reached, missed]
    callback_record(owner=reached, rule=rule, called_on=today, outcome="reached")
    callback_record(owner=missed, rule=rule, called_on=today, outcome="not_reached")
    rows = callback_due_list(today=today)
    assert [(row.owner, row.attempts, row.stage) for row in rows] == [(missed, 1, "run_in")]


def test_a_reached_callback_with_scores_becomes_a_touch_point_response_in_the_metrics(project, django_capture_on_commit_callbacks):
    owner = _owner(project, "1-101", date(2026, 1, 10))
    rule = CallbackRule.objects.get(months_after_move_in=3)
    with django_capture_on_commit_callbacks(execute=False):
        callback = callback_record(
            owner=owner, rule=rule, due_on=date(2026, 4, 10), called_on=date(2026, 4, 11), outcome="reached",
            scores={"overall": 5, "repurchase": 3, "recommend": 4}, notes="满意",
        )
    survey = Survey.objects.get(code="callback-2026")
    assert (survey.source, survey.series.code, survey.questionnaire.code) == ("touchpoint", "callback", "headline")
    response = Response.objects.get(survey=survey)
    assert callback.response == response
    assert (response.owner, response.answers, response.stage, response.surveyed_on) == (owner, "534", "run_in", date(2026, 4, 11))
    metrics_compute(survey_id=survey.pk)
    headline = MetricSnapshot.objects.get(survey=survey, port="", project__isnull=True, stage="")
    assert (headline.n, headline.satisfied, headline.loyalty_base, headline.loyal) == (1, 1, 1, 0)


def test_a_second_callback_the_same_year_reuses_the_survey(project):
    first = _owner(project, "1-101", date(2026, 1, 10))
    second = _owner(project, "1-102", date(2026, 1, 10))
    for owner in (first, second):
        callback_record(owner=owner, called_on=date(2026, 4, 11), outcome="reached", scores={"overall": 4, "repurchase": 4, "recommend": 4})
    assert Survey.objects.filter(code__startswith="callback-").count() == 1
    assert Response.objects.filter(survey__code="callback-2026").count() == 2


@pytest.mark.parametrize(
    ("outcome", "scores", "message"),
    [
        ("not_reached", {"overall": 4, "repurchase": 4, "recommend": 4}, "只有已接通的回访才能记录评分"),
        ("reached", {"overall": 4, "repurchase": None, "recommend": 4}, "三项都要填写"),
        ("bogus", {}, "请选择回访结果"),
    ],
)
def test_inconsistent_callbacks_are_refused_and_write_nothing(project, outcome, scores, message):
    owner = _owner(project, "1-101", date(2026, 1, 10))
    with pytest.raises(ValidationError) as excinfo:
        callback_record(owner=owner, called_on=date(2026, 4, 11), outcome=outcome, scores=scores)
    assert message in str(excinfo.value)
    assert Callback.objects.count() == 0 and Response.objects.count() == 0


def test_an_issue_raised_on_a_callback_becomes_a_feedback_record(project):
    owner = _owner(project, "1-101", date(2026, 1, 10))
    callback_record(owner=owner, called_on=date(2026, 4, 11), outcome="reached", issue_port="property", issue_description="车库漏水")
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.port, feedback.owner, feedback.received_on) == ("callback", "property", owner, date(2026, 4, 11))


def test_the_due_page_shows_masked_phones_and_is_for_staff_only(client, staff, property_head, project, today):
    _owner(project, "1-101", today - timedelta(days=92), phone="13812345678")
    client.force_login(staff)
    html = client.get("/feedback/callbacks/").content.decode()
    assert "138****5678" in html and "13812345678" not in html
    client.force_login(property_head)
    assert client.get("/feedback/callbacks/").status_code == 403


def test_the_due_page_names_each_owners_stage_and_the_recent_calls_scores(client, staff, project, today):
    _owner(project, "1-101", today - timedelta(days=92))
    called = _owner(project, "1-102", today - timedelta(days=400))
    callback_record(owner=called, called_on=today, outcome="reached", scores={"overall": 5, "repurchase": 3, "recommend": 4})
    client.force_login(staff)
    html = client.get("/feedback/callbacks/").content.decode()
    due = html.split('id="callback-recent"')[0]
    recent = html.split('id="callback-recent"')[1]
    assert "磨合期业主" in due and "5 / 3 / 4" in recent


def test_the_record_page_saves_a_callback_and_shows_errors_in_chinese(client, staff, project, today):
    owner = _owner(project, "1-101", today - timedelta(days=92))
    rule = CallbackRule.objects.get(months_after_move_in=3)
    client.force_login(staff)
    url = f"/feedback/callbacks/owners/{owner.pk}/?rule={rule.pk}"
    bad = client.post(url, {"called_on": today.isoformat(), "outcome": "refused", "overall": "5", "repurchase": "5", "recommend": "5"})
    assert "只有已接通的回访才能记录评分" in bad.content.decode()
    good = client.post(url, {"rule": rule.pk, "called_on": today.isoformat(), "outcome": "refused", "notes": "不便接听"})
    assert good.status_code == 302
    callback = Callback.objects.get()
    assert (callback.rule, callback.outcome, callback.called_by) == (rule, "refused", staff)
