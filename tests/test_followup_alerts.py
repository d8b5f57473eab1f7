"""Alert rules open follow-up tickets: every rule at its bounds, per wave or series, once per response and rule."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from followup.models import AlertRule, PortSla, RuleKind, Ticket, TicketSource
from followup.rules import Alert, QuestionSpec, RuleSpec, alerts_for_response, split_keywords
from followup.services import alerts_run
from owners.models import Owner, Project
from surveys.models import SurveySeries
from surveys.selectors import questionnaire_items
from surveys.services import ItemDef, questionnaire_copy, questionnaire_save, response_submit, survey_create

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUESTIONS = [
    QuestionSpec("overall", "总体满意度", "headline", ""),
    QuestionSpec("repurchase", "再次购买意愿", "headline", ""),
    QuestionSpec("engineering", "工程质量", "port", "engineering"),
    QuestionSpec("property", "物业管理", "port", "property"),
    QuestionSpec("property_cleaning", "保洁服务", "detail", "property"),
    QuestionSpec("comment", "意见", "comment", ""),
]
HEADLINE = RuleSpec(1, "headline_low", 2, (), "service")
PORT = RuleSpec(2, "port_low", 2, (), "service")
KEYWORD = RuleSpec(3, "keyword", 2, ("漏水", "投诉", "维权", "媒体"), "service")


def alerts(rule, comment="", **scores):
    return alerts_for_response(rules=[rule], questions=QUESTIONS, scores=scores, comments={"comment": comment})


# --- The rules as pure functions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "raised"), [(1, True), (2, True), (3, False), (5, False), (None, False)])
def test_a_headline_item_at_or_below_two_raises_an_alert_and_three_does_not(score, raised):
    assert bool(alerts(HEADLINE, overall=score, repurchase=4)) is raised


def test_a_headline_alert_goes_to_the_port_scored_lowest_else_to_the_rules_port():
    assert alerts(HEADLINE, overall=1, engineering=2, property=1) == [
        Alert(1, "property", "总体满意度 1 分")
    ]
    assert alerts(HEADLINE, overall=2, repurchase=1, engineering=3)[0].port == "service"
    assert alerts(HEADLINE, overall=2, repurchase=1)[0].summary == "总体满意度 2 分；再次购买意愿 1 分"


@pytest.mark.parametrize(("score", "raised"), [(1, True), (2, True), (3, False), (None, False)])
def test_a_port_item_at_or_below_two_raises_an_alert_for_that_port(score, raised):
    assert alerts(PORT, overall=5, engineering=score) == ([Alert(2, "engineering", f"工程质量 {score} 分")] if raised else [])


def test_a_port_rule_raises_one_alert_per_low_port_and_ignores_detail_items():
    assert [a.port for a in alerts(PORT, engineering=2, property=1, property_cleaning=1)] == ["engineering", "property"]
    assert alerts(PORT, property=4, property_cleaning=1) == []


def test_a_custom_threshold_is_its_own_bound():
    rule = RuleSpec(9, "headline_low", 3, (), "service")
    assert alerts(rule, overall=3) and not alerts(rule, overall=4)


@pytest.mark.parametrize(
    ("comment", "raised"),
    [("卫生间漏水三个月了", True), ("准备找媒体", True), ("物业很好，谢谢", False), ("", False), ("漏 水", False)],
)
def test_a_comment_with_a_keyword_raises_an_alert_and_one_without_does_not(comment, raised):
    assert bool(alerts(KEYWORD, comment, overall=5)) is raised


def test_a_keyword_alert_names_the_words_found():
    [alert] = alerts(KEYWORD, "漏水没人管，要投诉", overall=4)
    assert alert.summary.startswith("意见含“漏水、投诉”") and alert.port == "service"


def test_keywords_are_split_on_lines_and_chinese_commas():
    assert split_keywords("漏水\n投诉、维权，媒体, 漏水\n\n") == ["漏水", "投诉", "维权", "媒体"]


# --- Through the services: responses change, tickets open once ------------------------------------------------------


@pytest.fixture
def world(db):
    project = Project.objects.create(code="P1", name="翠湖花园")
    owners = [
        Owner.objects.create(project=project, unit=f"1-1-{100 + i}", name=f"业主{i}", phone=f"1380000{1000 + i}",
                             move_in_date=date(2024, 1, 1))
        for i in range(4)
    ]
    survey = survey_create(code="w1", name="年度调查", starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 30))
    return project, owners, survey


def submit(survey, owner, capture, comments=None, **scores):
    with capture(execute=True):
        response, _created = response_submit(
            survey=survey, owner=owner, questionnaire_no=f"Q{owner.pk}", surveyed_on=date(2026, 3, 5),
            scores={"overall": 5, "repurchase": 5, "recommend": 5} | scores, comments=comments,
        )
    return response


def test_a_keyed_1_1_1_response_opens_one_ticket_for_the_property_port(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    response = submit(survey, owners[0], django_capture_on_commit_callbacks, overall=1, repurchase=1, recommend=1)
    [ticket] = Ticket.objects.all()
    assert (ticket.source, ticket.port, ticket.response, ticket.owner) == ("alert", "property", response, owners[0])
    assert ticket.department.code == "property" and ticket.status == "new"
    assert ticket.due_at - ticket.opened_at == timedelta(hours=48)


def test_saving_the_response_again_or_rerunning_the_rules_opens_nothing_new(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    submit(survey, owners[0], django_capture_on_commit_callbacks, overall=2)
    submit(survey, owners[0], django_capture_on_commit_callbacks, overall=1, recommend=2)
    assert alerts_run(survey_id=survey.pk, now=datetime(2026, 3, 6, tzinfo=SHANGHAI)) == []
    assert Ticket.objects.count() == 1


def test_a_response_of_threes_opens_nothing_and_a_later_change_to_two_opens_one(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    submit(survey, owners[1], django_capture_on_commit_callbacks, overall=3, property=3, engineering=3)
    assert not Ticket.objects.exists()
    submit(survey, owners[1], django_capture_on_commit_callbacks, overall=3, property=2, engineering=3)
    assert list(Ticket.objects.values_list("port", "rule__kind")) == [("property", RuleKind.PORT_LOW)]


def test_a_low_headline_and_two_low_ports_open_three_tickets(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    submit(survey, owners[2], django_capture_on_commit_callbacks, overall=1, engineering=1, property=2)
    got = sorted(Ticket.objects.values_list("rule__kind", "port"))
    assert got == [("headline_low", "engineering"), ("port_low", "engineering"), ("port_low", "property")]
    assert set(Ticket.objects.values_list("department__code", flat=True)) == {"engineering", "property"}


def test_a_rule_of_another_series_or_wave_does_not_apply(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    AlertRule.objects.all().delete()
    other = SurveySeries.objects.exclude(pk=survey.series_id).first()
    AlertRule.objects.create(name="其他系列", kind=RuleKind.HEADLINE_LOW, series=other)
    submit(survey, owners[0], django_capture_on_commit_callbacks, overall=1)
    assert not Ticket.objects.exists()
    AlertRule.objects.create(name="本期", kind=RuleKind.HEADLINE_LOW, survey=survey)
    assert len(alerts_run(survey_id=survey.pk, now=datetime(2026, 3, 6, tzinfo=SHANGHAI))) == 1
    AlertRule.objects.create(name="本系列", kind=RuleKind.HEADLINE_LOW, series=survey.series, threshold=1)
    assert len(alerts_run(survey_id=survey.pk, now=datetime(2026, 3, 6, tzinfo=SHANGHAI))) == 1
    assert Ticket.objects.count() == 2


def test_a_comment_with_a_keyword_opens_a_ticket_and_one_without_does_not(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    copy = questionnaire_copy(source=survey.questionnaire, code="with-comment", name="带意见题")
    items = [*questionnaire_items(questionnaire=copy), ItemDef("comment", "其他意见", "comment")]
    questionnaire_save(questionnaire=copy, name=copy.name, items=items)
    wave = survey_create(code="w2", name="带意见", questionnaire="with-comment", starts_on=date(2026, 3, 1))
    submit(wave, owners[0], django_capture_on_commit_callbacks, comments={"comment": "物业服务不错"})
    assert not Ticket.objects.exists()
    submit(wave, owners[1], django_capture_on_commit_callbacks, comments={"comment": "地下室漏水，再不修就找媒体"})
    [ticket] = Ticket.objects.all()
    assert ticket.owner == owners[1] and "漏水、媒体" in ticket.summary and ticket.port == "service"


def test_the_due_date_follows_the_ports_sla(world, django_capture_on_commit_callbacks):
    _project, owners, survey = world
    PortSla.objects.filter(port="engineering").update(due_hours=24)
    submit(survey, owners[3], django_capture_on_commit_callbacks, engineering=1)
    ticket = Ticket.objects.get()
    assert ticket.due_at - ticket.opened_at == timedelta(hours=24)


def test_an_imported_file_opens_its_tickets_and_the_same_file_again_opens_none(world, django_capture_on_commit_callbacks):
    from surveys.importer import responses_import
    from tests.test_survey_waves import _row, _workbook

    _project, _owners, survey = world
    data = _workbook([_row("A1", "2-1-101", "甲", overall=1), _row("A2", "2-1-102", "乙", overall=4),
                      _row("A3", "2-1-103", "丙", overall=2, repurchase=2)])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            responses_import(survey=survey, data=data, file_name="w.xlsx")
    assert sorted(Ticket.objects.values_list("owner__name", flat=True)) == ["丙", "甲"]
    assert set(Ticket.objects.values_list("source", flat=True)) == {TicketSource.ALERT}


def test_a_big_change_asks_for_a_scan_of_the_survey_instead_of_carrying_every_answer(world, monkeypatch):
    from followup import receivers
    from followup.tasks import alerts_run_task
    from surveys.events import ResponseChange, ResponseState

    sent = []
    monkeypatch.setattr(alerts_run_task, "delay", lambda *args: sent.append(args))
    monkeypatch.setattr(receivers.transaction, "on_commit", lambda callback: callback())
    _project, _owners, survey = world
    small = [ResponseChange(None, ResponseState(1, "stable", "111"))]

    def low(i: int) -> str:  # distinct answer strings whose first (headline) item scores 1
        digits = "".join(str(1 + (i // 5**k) % 5) for k in range(7))
        return "1" + digits

    big = [ResponseChange(None, ResponseState(1, "stable", low(i))) for i in range(receivers.CHANGED_PAIRS_LIMIT + 1)]
    high = [ResponseChange(None, ResponseState(1, "stable", "5554444")), ResponseChange(None, ResponseState(2, "stable", "333"))]
    receivers.alerts_when_responses_change(survey_id=survey.pk, changes=small + high)
    receivers.alerts_when_responses_change(survey_id=survey.pk, changes=big)
    receivers.alerts_when_responses_change(survey_id=survey.pk, changes=[ResponseChange(small[0].after, None)])
    receivers.alerts_when_responses_change(survey_id=survey.pk, changes=high)
    # Only low answers travel; a deletion alone, or only high scores (no comment question), ask for nothing.
    assert sent == [(survey.pk, [(1, "111")]), (survey.pk, None)]


def test_the_hourly_sweep_reads_only_responses_changed_in_its_lookback(world, django_capture_on_commit_callbacks, monkeypatch):
    from followup import tasks
    from surveys.models import Response

    _project, owners, survey = world
    response = submit(survey, owners[0], django_capture_on_commit_callbacks, overall=1)
    Ticket.objects.all().delete()  # as if the broker had lost the run
    Response.objects.filter(pk=response.pk).update(updated_at=datetime(2026, 3, 6, 9, tzinfo=SHANGHAI))
    monkeypatch.setattr(tasks.timezone, "now", lambda: datetime(2026, 3, 6, 11, 1, tzinfo=SHANGHAI))
    assert tasks.alerts_sweep() == 0  # changed 2 h 1 min ago: outside the lookback
    monkeypatch.setattr(tasks.timezone, "now", lambda: datetime(2026, 3, 6, 10, 59, tzinfo=SHANGHAI))
    assert tasks.alerts_sweep() == 1
    assert tasks.alerts_sweep() == 0


def test_tickets_a_concurrent_run_opened_first_are_left_out_and_the_rest_inserted(world, django_capture_on_commit_callbacks):
    from followup.services import _tickets_insert

    _project, owners, survey = world
    first = submit(survey, owners[0], django_capture_on_commit_callbacks, overall=1)
    second = submit(survey, owners[1], django_capture_on_commit_callbacks, overall=5)
    taken = Ticket.objects.get(response=first)
    now = datetime(2026, 3, 6, tzinfo=SHANGHAI)
    copies = [Ticket(source="alert", port=taken.port, department=taken.department, project=taken.project,
                     owner=response.owner, response=response, rule=taken.rule, summary="x", opened_at=now, due_at=now)
              for response in (first, second)]
    opened = _tickets_insert(copies)
    assert [t.response for t in opened] == [second]
    assert Ticket.objects.count() == 2 and Ticket.objects.get(response=second).history.count() == 1
