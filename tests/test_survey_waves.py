"""Survey waves: series, fieldwork period, questionnaire versions, open comments, and closing a wave to every path."""

import io
from datetime import date

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from feedback.services import callback_record
from owners.models import Owner, Project
from satisfaction.services import metrics_compute
from surveys.importer import response_template_xlsx, responses_import
from surveys.importing.jobs import import_job_run
from surveys.models import ImportJob, Question, Questionnaire, Response, ResponseComment, Survey, SurveySeries
from surveys.questionnaires import STANDARD
from surveys.selectors import (
    questionnaire_is_frozen,
    questionnaire_items,
    survey_answer_codes,
    survey_comments,
    survey_latest,
    survey_questions,
)
from surveys.services import (
    ItemDef,
    questionnaire_copy,
    questionnaire_save,
    response_submit,
    survey_close,
    survey_create,
    survey_reopen,
    survey_update,
)

pytestmark = pytest.mark.django_db

CLOSED = "已关闭，不再接受新的或修改的答卷；如需补录请先重新开放"


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园")


@pytest.fixture
def owner(project):
    return Owner.objects.create(project=project, unit="1-1-101", name="张三", move_in_date=date(2025, 1, 10))


def _with_comment(source: Questionnaire, *, code="repair-2026", drop=()) -> Questionnaire:
    copy = questionnaire_copy(source=source, code=code, name="维修回访问卷")
    items = [i for i in questionnaire_items(questionnaire=copy) if i.code not in drop]
    items.append(ItemDef("suggestion", "您对维修服务还有什么建议？", "comment"))
    return questionnaire_save(questionnaire=copy, name=copy.name, items=items)


def _workbook(rows: list[dict]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    headers = list(rows[0])
    sheet.append(headers)
    for row in rows:
        sheet.append([row[h] for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row(number: str, unit: str, name: str, **extra) -> dict:
    return {
        "questionnaire_no": number, "project_code": "P1", "project_name": "翠湖花园", "unit": unit,
        "owner_name": name, "surveyed_on": "2026-05-06", "overall": 5, "repurchase": 4, "recommend": 4, **extra,
    }  # fmt: skip


# --- Series and the create_survey flags ---------------------------------------------------------------------------


def test_the_seeded_series_are_the_company_group_and_touch_point_kinds():
    assert dict(SurveySeries.objects.values_list("code", "source")) == {
        "company": "company", "group": "group", "touchpoint": "touchpoint", "handover": "touchpoint",
        "repair": "touchpoint", "callback": "touchpoint", "complaint": "touchpoint",
    }  # fmt: skip
    assert SurveySeries.objects.get(code="handover").name == "交付/入住"


def test_create_survey_defaults_the_series_to_the_source_and_stores_period_and_weighting(capsys):
    call_command("create_survey", "2027-group", "--name", "集团 2027", "--source", "group",
                 "--starts", "2027-04-01", "--ends", "2027-06-30", "--weighting", "population")
    survey = Survey.objects.get(code="2027-group")
    assert (survey.series.code, survey.source) == ("group", "group")
    assert (survey.starts_on, survey.ends_on, survey.weighting) == (date(2027, 4, 1), date(2027, 6, 30), "population")
    assert (survey.questionnaire.code, survey.questionnaire.version) == ("standard", 1)
    assert [q.code for q in survey_questions(survey=survey)] == [q.code for q in STANDARD]
    assert "series group" in capsys.readouterr().out


def test_create_survey_with_a_touch_point_series_takes_its_source():
    call_command("create_survey", "repair-2026", "--name", "维修触点 2026", "--series", "repair",
                 "--questionnaire", "headline")
    survey = Survey.objects.get(code="repair-2026")
    assert (survey.series.code, survey.source, survey.weighting) == ("repair", "touchpoint", "none")
    assert survey_answer_codes(survey=survey) == ["overall", "repurchase", "recommend"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--series", "nope"], "未知系列“nope”"),
        (["--series", "repair", "--source", "company"], "与调查来源“公司调查”不一致"),
        (["--starts", "2027-06-30", "--ends", "2027-04-01"], "结束日期不能早于开始日期"),
        (["--starts", "2027/06/30"], "YYYY-MM-DD"),
        (["--questionnaire", "missing"], "未知问卷“missing”"),
    ],
)
def test_create_survey_refuses_bad_flags_in_plain_words(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_survey", "x-2027", "--name", "X", *arguments)
    assert not Survey.objects.filter(code="x-2027").exists()


def test_the_callback_survey_joins_the_callback_series(project):
    owner = Owner.objects.create(project=project, unit="2-101", name="李四", move_in_date=date(2026, 1, 2))
    callback_record(owner=owner, called_on=date(2026, 4, 3), outcome="reached",
                    scores={"overall": 5, "repurchase": 5, "recommend": 4})
    survey = Survey.objects.get(code="callback-2026")
    assert (survey.series.code, survey.questionnaire.code) == ("callback", "headline")


def test_a_wave_nobody_has_answered_never_becomes_the_latest_survey(owner):
    answered = survey_create(code="2026-annual", name="2026", starts_on=date(2026, 4, 1))
    response_submit(survey=answered, owner=owner, questionnaire_no="A1", surveyed_on=date(2026, 4, 2),
                    scores={"overall": 5, "repurchase": 5, "recommend": 5})
    survey_create(code="2027-annual", name="2027", starts_on=date(2027, 4, 1))
    assert survey_latest() == answered


# --- Closing a wave ---------------------------------------------------------------------------------------------


@pytest.fixture
def closed(owner, staff):
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 4, 1))
    response_submit(survey=survey, owner=owner, questionnaire_no="A1", surveyed_on=date(2026, 4, 2),
                    scores={"overall": 4, "repurchase": 4, "recommend": 4})
    survey_close(survey=survey, user=staff)
    return survey


def test_close_survey_closes_and_reopens_by_command(owner, capsys):
    survey = survey_create(code="2026-annual", name="2026")
    call_command("close_survey", "2026-annual")
    survey.refresh_from_db()
    assert survey.is_closed
    call_command("close_survey", "2026-annual", "--reopen")
    survey.refresh_from_db()
    assert not survey.is_closed
    with pytest.raises(CommandError, match="unknown survey"):
        call_command("close_survey", "nope")


def test_a_closed_wave_refuses_a_keyed_or_api_response_and_keeps_the_stored_one(closed, owner):
    with pytest.raises(ValidationError, match=CLOSED):
        response_submit(survey=closed, owner=owner, questionnaire_no="A1", surveyed_on=date(2026, 4, 2),
                        scores={"overall": 1, "repurchase": 1, "recommend": 1})
    assert Response.objects.get().answers.startswith("444")


def test_a_closed_wave_refuses_an_import_from_the_command_and_writes_nothing(closed, tmp_path):
    path = tmp_path / "late.xlsx"
    path.write_bytes(_workbook([_row("A2", "1-1-102", "王五")]))
    with pytest.raises(CommandError, match=CLOSED):
        call_command("import_responses", str(path), "--survey", "2026-annual")
    assert Response.objects.count() == 1 and not Owner.objects.filter(name="王五").exists()


def test_a_closed_wave_refuses_an_upload_and_a_job_queued_before_it_closed(owner, staff):
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查")
    data = _workbook([_row("A2", "1-1-102", "王五")])
    from surveys.services import import_job_start

    job = import_job_start(kind="responses", survey=survey, data=data, file_name="late.xlsx", user=staff)
    survey_close(survey=survey, user=staff)
    with pytest.raises(ValidationError, match=CLOSED):
        import_job_start(kind="responses", survey=survey, data=data, file_name="late.xlsx", user=staff)
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportJob.Status.FAILED and CLOSED in job.message
    assert not Response.objects.exists()


def test_a_closed_callback_survey_refuses_the_callbacks_scores(owner):
    callback_record(owner=owner, called_on=date(2026, 4, 3), outcome="reached",
                    scores={"overall": 5, "repurchase": 5, "recommend": 4})
    survey_close(survey=Survey.objects.get(code="callback-2026"))
    with pytest.raises(ValidationError, match=CLOSED):
        callback_record(owner=owner, called_on=date(2026, 5, 3), outcome="reached",
                        scores={"overall": 1, "repurchase": 1, "recommend": 1})
    assert Response.objects.get().answers == "554"


def test_a_reopened_wave_takes_responses_again(closed, owner):
    survey_reopen(survey=closed)
    response, created = response_submit(survey=closed, owner=owner, questionnaire_no="A1",
                                        surveyed_on=date(2026, 4, 2), scores={"overall": 2, "repurchase": 2,
                                                                               "recommend": 2})
    assert (created, response.answers[:3]) == (False, "222")


# --- Questionnaire versions ---------------------------------------------------------------------------------------


def test_a_copied_questionnaire_with_a_comment_question_keeps_it_out_of_the_answer_string(owner):
    standard = Questionnaire.objects.get(code="standard", version=1)
    mine = _with_comment(standard, drop=("design_layout", "design_landscape"))
    survey = survey_create(code="repair-2026", name="维修", series="repair", questionnaire=mine)
    codes = survey_answer_codes(survey=survey)
    assert "suggestion" not in codes and "design_layout" not in codes and len(codes) == len(STANDARD) - 2
    response, _ = response_submit(
        survey=survey, owner=owner, questionnaire_no="R1", surveyed_on=date(2026, 5, 6),
        scores={"overall": 5, "repurchase": 4, "recommend": 3}, comments={"suggestion": "上门要准时"},
    )
    assert response.answers == "543" + "-" * (len(codes) - 3)
    assert survey_comments(survey=survey) == {response.pk: {"suggestion": "上门要准时"}}
    response_submit(survey=survey, owner=owner, questionnaire_no="R1", surveyed_on=date(2026, 5, 6),
                    scores={"overall": 5, "repurchase": 4, "recommend": 3}, comments={"suggestion": ""})
    assert not ResponseComment.objects.exists()
    assert [h.history_type for h in ResponseComment.history.order_by("history_id")] == ["+", "-"]


def test_editing_a_version_without_responses_changes_the_questions_of_its_waves():
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="tp", name="触点")
    survey = survey_create(code="tp-2026", name="触点 2026", series="handover", questionnaire=mine)
    items = [*questionnaire_items(questionnaire=mine), ItemDef("handover_keys", "交钥匙流程", "detail", "sales")]
    saved = questionnaire_save(questionnaire=mine, name="触点问卷", items=items)
    assert saved.pk == mine.pk and not questionnaire_is_frozen(questionnaire=saved)
    assert survey_answer_codes(survey=survey) == ["overall", "repurchase", "recommend", "handover_keys"]


def test_editing_a_frozen_version_makes_a_new_one_and_changes_no_answer_and_no_number(owner, project):
    survey = survey_create(code="2026-annual", name="2026", starts_on=date(2026, 4, 1))
    for number in range(40):
        unit_owner = Owner.objects.create(project=project, unit=f"3-{number}", name=f"业主{number}")
        response_submit(survey=survey, owner=unit_owner, questionnaire_no=f"Q{number}", surveyed_on=date(2026, 4, 2),
                        scores={"overall": 1 + number % 5, "repurchase": 4, "recommend": 5, "property": 2 + number % 4})
    metrics_compute(survey_id=survey.pk)
    before_answers = list(Response.objects.order_by("id").values_list("answers", flat=True))
    before_questions = list(Question.objects.filter(survey=survey).order_by("position").values_list("code", "label"))
    before_rows = _metric_rows(survey)
    standard = survey.questionnaire
    assert questionnaire_is_frozen(questionnaire=standard)

    items = [i for i in questionnaire_items(questionnaire=standard) if i.code != "design_layout"]
    items.insert(3, ItemDef("service_app", "线上报修", "detail", "service"))
    new = questionnaire_save(questionnaire=standard, name="标准问卷（2027）", items=items)

    assert (new.code, new.version, new.based_on_id) == ("standard", 2, standard.pk)
    assert [i.code for i in questionnaire_items(questionnaire=standard)] == [q.code for q in STANDARD]
    assert list(Response.objects.order_by("id").values_list("answers", flat=True)) == before_answers
    assert list(Question.objects.filter(survey=survey).order_by("position").values_list("code", "label")) == before_questions
    metrics_compute(survey_id=survey.pk)
    assert _metric_rows(survey) == before_rows
    later = survey_create(code="2027-annual", name="2027")
    assert later.questionnaire == new and "service_app" in survey_answer_codes(survey=later)


def _metric_rows(survey):
    from satisfaction.selectors import metric_rows

    return [{k: v for k, v in row.items() if k not in ("change", "loyalty_change")} for row in metric_rows(survey=survey)]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([ItemDef("repurchase", "再次购买意愿", "headline")], "必须包含核心指标题“overall”"),
        ([ItemDef("overall", "总体", "headline"), ItemDef("overall", "总体二", "headline")], "编码“overall”与第 1 题重复"),
        ([ItemDef("overall", "总体", "headline"), ItemDef("x", "总体", "detail", "sales")], "与第 1 题相同"),
        ([ItemDef("overall", "总体", "headline"), ItemDef("unit", "单元", "detail", "sales")], "导入文件的固定列"),
        ([ItemDef("overall", "总体", "headline"), ItemDef("d", "细项", "detail")], "必须选择端口"),
        ([ItemDef("overall", "总体", "port", "sales")], "必须是核心指标题"),
        ([ItemDef("overall", "总体", "headline"), ItemDef("comment", "意见", "detail", "sales")], "留给开放意见题"),
    ],
)
def test_a_questionnaire_with_bad_items_is_refused_with_the_reason(items, message):
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="tp", name="触点")
    with pytest.raises(ValidationError, match=message):
        questionnaire_save(questionnaire=mine, name="触点", items=items)


def test_a_wave_with_responses_keeps_its_questionnaire(closed):
    survey_reopen(survey=closed)
    headline = Questionnaire.objects.get(code="headline")
    with pytest.raises(ValidationError, match="已有答卷，不能更换问卷"):
        survey_update(survey=closed, code=closed.code, name=closed.name, source="company", series="company",
                      questionnaire=headline, starts_on=None, ends_on=None, target_projects=[], target_stages=[],
                      weighting="none")


# --- Comments in the import file ----------------------------------------------------------------------------------


def test_an_import_reads_comment_columns_by_code_or_label_and_a_reimport_changes_nothing(project, staff):
    mine = _with_comment(Questionnaire.objects.get(code="headline"))
    survey = survey_create(code="repair-2026", name="维修", series="repair", questionnaire=mine)
    template = openpyxl.load_workbook(io.BytesIO(response_template_xlsx(survey=survey))).active
    assert [c.value for c in template[1]][-1] == "您对维修服务还有什么建议？"
    data = _workbook([
        _row("R1", "1-1-101", "张三", suggestion="师傅很专业"),
        _row("R2", "1-1-102", "王五", suggestion=""),
    ])
    result = responses_import(survey=survey, data=data, file_name="r.xlsx", user=staff)
    assert (result.ok, result.created, result.created_projects, len(result.created_owners)) == (True, 2, [], 2)
    assert list(ResponseComment.objects.values_list("text", flat=True)) == ["师傅很专业"]
    again = responses_import(survey=survey, data=data, file_name="r.xlsx", user=staff)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)

    by_label = _workbook([
        {**_row("R1", "1-1-101", "张三"), "您对维修服务还有什么建议？": "师傅很专业，但迟到了"},
    ])
    changed = responses_import(survey=survey, data=by_label, file_name="r2.xlsx", user=staff)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 0)
    assert ResponseComment.objects.get().text == "师傅很专业，但迟到了"
    assert ResponseComment.history.count() == 2


def test_the_callback_page_says_a_closed_callback_survey_refuses_the_scores(client, staff, owner):
    callback_record(owner=owner, called_on=date(2026, 4, 3), outcome="reached",
                    scores={"overall": 5, "repurchase": 5, "recommend": 4})
    survey_close(survey=Survey.objects.get(code="callback-2026"))
    client.force_login(staff)
    answer = client.post(f"/feedback/callbacks/owners/{owner.pk}/", {
        "called_on": "2026-05-03", "outcome": "reached", "overall": "1", "repurchase": "1", "recommend": "1",
    })
    assert answer.status_code in (200, 400) and CLOSED in answer.content.decode()
