"""The admin is no back door: a survey with responses keeps its questions' positions, a response saved or deleted in
the admin goes through the same service as every other path, and workflow state is read-only."""

from datetime import date

import pytest
from django.urls import reverse

from improvement_plans import services as plans
from improvement_plans.models import ItemStatus, MeasureCategory, PlanTransition
from owners.models import Owner, Project
from owners.stages import stage_as_of
from satisfaction.models import MetricRun
from satisfaction.selectors import headline_snapshot
from satisfaction.services import metrics_compute
from surveys.events import responses_changed
from surveys.models import Question, Response
from surveys.services import response_submit, survey_create

pytestmark = pytest.mark.django_db


def form_data(page) -> dict:
    """What the admin's change form posts when nothing is touched: the main form and every inline formset."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            if value is True:
                data[form.add_prefix(name)] = "on"
            elif value is not None and value is not False:
                data[form.add_prefix(name)] = value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def satisfied_recount(survey) -> tuple[int, int]:
    """(satisfied, n) of the overall question, counted from the stored answer strings (overall is the first)."""
    overall = [answers[0] for answers in Response.objects.filter(survey=survey).values_list("answers", flat=True)]
    scored = [int(char) for char in overall if char != "-"]
    return sum(score >= 4 for score in scored), len(scored)


@pytest.fixture
def answered(db):
    """A three-question survey (overall, repurchase, recommend; all required) answered by two of three owners."""
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查", questionnaire="headline", starts_on=date(2026, 3, 1))
    project = Project.objects.create(code="HY", name="和园")
    owners = [
        Owner.objects.create(project=project, unit=f"1-1-{101 + i}", name=name, move_in_date=date(2025, 1, 10))
        for i, name in enumerate(["甲", "乙", "丙"])
    ]
    for owner, number, scores in ((owners[0], "Q1", (5, 4, 5)), (owners[1], "Q2", (3, 4, 4))):
        response_submit(
            survey=survey, owner=owner, questionnaire_no=number, surveyed_on=date(2026, 3, 10),
            scores=dict(zip(["overall", "repurchase", "recommend"], scores, strict=True)),
        )
    metrics_compute(survey_id=survey.pk)
    return survey, owners


@pytest.fixture
def announced():
    """The surveys whose responses_changed signal was sent."""
    heard = []

    def hear(sender, survey_id, **kwargs):
        heard.append(survey_id)

    responses_changed.connect(hear, dispatch_uid="test-admin-guards")
    yield heard
    responses_changed.disconnect(dispatch_uid="test-admin-guards")


def positional(survey) -> list[tuple]:
    return list(Question.objects.filter(survey=survey).order_by("position").values_list("position", "code", "kind", "port"))


def tamper_with_questions(data: dict) -> dict:
    """Move the first question, rename its code, delete the third and add a fourth."""
    data = dict(data)
    data["questions-0-position"] = "10"
    data["questions-0-code"] = "renamed"
    data["questions-0-label"] = "总体满意度（修订）"
    data["questions-2-DELETE"] = "on"
    data["questions-TOTAL_FORMS"] = "4"
    data.update({
        "questions-3-code": "extra", "questions-3-label": "附加题", "questions-3-kind": "port",
        "questions-3-port": "sales", "questions-3-position": "11",
    })
    return data


# --- survey questions -------------------------------------------------------------------------------------------


def test_a_survey_without_responses_can_still_have_its_questions_rearranged(admin_client):
    # The same hand-made POST as below does change an unanswered survey: the refusal below is the guard's doing.
    survey = survey_create(code="draft", name="草稿调查", questionnaire="headline")
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    data = form_data(admin_client.get(url))
    data.update({
        "questions-0-position": "10", "questions-0-code": "renamed", "questions-2-DELETE": "on", "questions-TOTAL_FORMS": "4",
        "questions-3-code": "extra", "questions-3-label": "附加题", "questions-3-kind": "port",
        "questions-3-port": "sales", "questions-3-position": "11",
    })
    assert admin_client.post(url, data).status_code == 302
    assert [code for _, code, _, _ in positional(survey)] == ["repurchase", "renamed", "extra"]


def test_a_survey_with_responses_keeps_its_questions_order_codes_and_count_in_the_admin(admin_client, answered):
    survey, _ = answered
    before, answers = positional(survey), sorted(Response.objects.values_list("answers", flat=True))
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    page = admin_client.get(url)
    text = page.content.decode()
    assert "本调查已有答卷" in text and "不能再修改" in text
    assert 'name="questions-0-position"' not in text and 'name="questions-0-code"' not in text
    assert 'name="questions-0-DELETE"' not in text

    answer = admin_client.post(url, tamper_with_questions(form_data(page)))
    assert answer.status_code == 302
    assert positional(survey) == before
    assert sorted(Response.objects.values_list("answers", flat=True)) == answers
    # The wording of a question may still be mended.
    assert Question.objects.get(survey=survey, code="overall").label == "总体满意度（修订）"


# --- responses ----------------------------------------------------------------------------------------------------


def test_a_response_changed_in_the_admin_is_validated_recorded_with_its_editor_and_recomputed(
    admin_client, admin_user, answered, announced, django_capture_on_commit_callbacks
):
    survey, owners = answered
    response = Response.objects.get(owner=owners[1])
    assert headline_snapshot(survey=survey).satisfied == 1
    url = reverse("admin:surveys_response_change", args=[response.pk])
    page = admin_client.get(url)
    assert "1. overall · 2. repurchase · 3. recommend" in page.content.decode()
    data = form_data(page)
    data.update(answers="444", surveyed_on="2025-06-01")

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, data).status_code == 302

    response.refresh_from_db()
    assert response.answers == "444"
    assert response.stage == stage_as_of(owners[1].move_in_date, date(2025, 6, 1)) != stage_as_of(owners[1].move_in_date, date(2026, 3, 10))
    latest = response.history.order_by("-history_date").first()
    assert (latest.history_type, latest.history_user, latest.answers) == ("~", admin_user, "444")
    assert announced == [survey.pk]
    headline = headline_snapshot(survey=survey)
    assert (headline.satisfied, headline.n) == satisfied_recount(survey) == (2, 2)


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"answers": "54"}, "answers", "本调查有 3 道题，答案须为 3 个字符"),
        ({"answers": "945"}, "answers", "本调查有 3 道题，答案须为 3 个字符"),
        ({"answers": "-45"}, "answers", "必答题未回答：总体满意度"),
        ({"questionnaire_no": "Q1"}, "questionnaire_no", "问卷编号“Q1”在本次调查中已被其他业主使用"),
    ],
)
def test_a_bad_edit_in_the_admin_gets_a_chinese_message_and_changes_nothing(admin_client, answered, announced, change, field, message):
    survey, owners = answered
    response = Response.objects.get(owner=owners[1])
    url = reverse("admin:surveys_response_change", args=[response.pk])
    data = {**form_data(admin_client.get(url)), **change}
    page = admin_client.post(url, data)
    assert page.status_code == 200
    assert any(message in error for error in page.context["adminform"].form.errors[field])
    response.refresh_from_db()
    assert (response.answers, response.questionnaire_no) == ("344", "Q2")
    assert announced == [] and response.history.count() == 1


def test_a_response_added_in_the_admin_gets_its_project_and_stage_from_the_service(
    admin_client, admin_user, answered, announced, django_capture_on_commit_callbacks
):
    survey, owners = answered
    data = {"survey": survey.pk, "owner": owners[2].pk, "questionnaire_no": "Q3", "surveyed_on": "2026-03-12",
            "channel": "phone", "answers": "455"}
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(reverse("admin:surveys_response_add"), data).status_code == 302
    added = Response.objects.get(owner=owners[2])
    assert (added.project, added.stage) == (owners[2].project, stage_as_of(owners[2].move_in_date, date(2026, 3, 12)))
    assert added.history.get().history_user == admin_user
    assert announced == [survey.pk]
    assert headline_snapshot(survey=survey).n == 3

    # A second response for an owner who already answered this survey is refused, not merged into the first.
    again = admin_client.post(reverse("admin:surveys_response_add"), {**data, "questionnaire_no": "Q4", "answers": "111"})
    assert again.status_code == 200 and again.context["adminform"].form.errors
    assert Response.objects.get(owner=owners[2]).answers == "455"


def test_a_response_deleted_in_the_admin_leaves_its_history_and_the_numbers_follow(
    admin_client, admin_user, answered, announced, django_capture_on_commit_callbacks
):
    survey, owners = answered
    response = Response.objects.get(owner=owners[0])
    with django_capture_on_commit_callbacks(execute=True):
        url = reverse("admin:surveys_response_delete", args=[response.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Response.objects.filter(pk=response.pk).exists()
    gone = Response.history.filter(id=response.pk).order_by("-history_date").first()
    assert (gone.history_type, gone.history_user) == ("-", admin_user)
    assert announced == [survey.pk]
    headline = headline_snapshot(survey=survey)
    assert (headline.satisfied, headline.n) == satisfied_recount(survey) == (0, 1)


def test_responses_deleted_together_in_the_admin_list_go_through_the_service_too(
    admin_client, answered, announced, django_capture_on_commit_callbacks
):
    survey, _ = answered
    ids = list(Response.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        answer = admin_client.post(
            reverse("admin:surveys_response_changelist"),
            {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        )
    assert answer.status_code == 302
    assert not Response.objects.exists()
    assert Response.history.filter(history_type="-").count() == 2
    assert announced == [survey.pk]
    assert headline_snapshot(survey=survey) is None  # recomputed: no responses, no numbers


# --- workflow state ---------------------------------------------------------------------------------------------


def test_an_action_items_progress_status_and_a_plans_trail_cannot_be_set_in_the_admin(admin_client, property_head):
    plan = plans.plan_create(user=property_head, year=2027, port="property")
    item = plans.action_item_create(plan=plan, user=property_head, title="保洁", measure_category=MeasureCategory.FRONTLINE_QUALITY)
    url = reverse("admin:improvement_plans_actionitem_change", args=[item.pk])
    data = {**form_data(admin_client.get(url)), "title": "保洁巡检", "status": ItemStatus.DONE, "kind": "pilot"}
    assert admin_client.post(url, data).status_code == 302
    item.refresh_from_db()
    assert (item.title, item.status, item.kind) == ("保洁巡检", ItemStatus.NOT_STARTED, "improvement")

    transition = PlanTransition.objects.get(plan=plan)
    assert admin_client.post(reverse("admin:improvement_plans_plantransition_delete", args=[transition.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:improvement_plans_plantransition_add")).status_code == 403
    assert PlanTransition.objects.filter(pk=transition.pk).exists()


def test_a_metric_runs_state_is_read_only_in_the_admin(admin_client, answered):
    survey, _ = answered
    run = MetricRun.objects.create(survey=survey, status=MetricRun.Status.PENDING, requested_at="2026-03-10T08:00:00Z")
    url = reverse("admin:satisfaction_metricrun_change", args=[run.pk])
    assert admin_client.get(url).status_code == 200  # readable
    admin_client.post(url, {"status": MetricRun.Status.DONE, "survey": survey.pk})
    run.refresh_from_db()
    assert run.status == MetricRun.Status.PENDING
    assert admin_client.post(reverse("admin:satisfaction_metricrun_delete", args=[run.pk]), {"post": "yes"}).status_code == 403
