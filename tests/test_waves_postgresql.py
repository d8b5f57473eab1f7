"""Waves on PostgreSQL: comments through the COPY import path with their history, units in natural order through
the ICU collation, a closed wave refusing an import, and the change against the series' previous wave."""

import io
from datetime import date

import openpyxl
import pytest
from django.db import connection

from owners.models import Owner, Project
from owners.selectors import owners_search
from satisfaction.selectors import metric_rows
from satisfaction.services import metrics_compute
from surveys.importer import responses_import
from surveys.models import Questionnaire, ResponseComment
from surveys.services import ItemDef, questionnaire_copy, questionnaire_save, survey_close, survey_create, survey_reopen

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _file(rows) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["问卷编号", "楼盘编码", "楼盘名称", "房号", "业主姓名", "调查日期", "总体满意度", "再次购买意愿", "推荐意愿", "建议"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_comments_import_through_copy_with_history_and_a_closed_wave_refuses_the_file():
    assert connection.vendor == "postgresql"
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="tp", name="触点")
    mine = questionnaire_save(questionnaire=mine, name="触点", items=[
        *mine.items.order_by("position"), ItemDef("suggestion", "建议", "comment")])
    survey = survey_create(code="tp-2026", name="触点 2026", series="repair", questionnaire=mine)
    first = _file([[f"T{i}", "P1", "翠湖", f"1-1-{i}01", f"业主{i}", "2026-03-05", 5, 4, 4, f"意见{i}" if i % 2 else None]
                   for i in range(1, 201)])
    result = responses_import(survey=survey, data=first, file_name="a.xlsx")
    assert result.ok and result.created == 200 and result.created_projects == [("P1", "翠湖")]
    assert ResponseComment.objects.count() == ResponseComment.history.filter(history_type="+").count() == 100
    second = _file([[f"T{i}", "P1", "翠湖", f"1-1-{i}01", f"业主{i}", "2026-03-05", 5, 4, 4,
                     ("改" if i == 1 else "") + (f"意见{i}" if i % 2 else "") if i != 3 else None]
                    for i in range(1, 201)])
    again = responses_import(survey=survey, data=second, file_name="b.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 2, 198)
    assert ResponseComment.objects.get(response__questionnaire_no="T1").text == "改意见1"
    assert not ResponseComment.objects.filter(response__questionnaire_no="T3").exists()
    assert set(ResponseComment.history.values_list("history_type", flat=True)) == {"+", "-", "~"}
    survey_close(survey=survey)
    refused = responses_import(survey=survey, data=first, file_name="a.xlsx")
    assert refused.refused and "已关闭" in refused.errors[0].reason
    survey_reopen(survey=survey)


def test_units_sort_naturally_on_postgresql():
    project = Project.objects.create(code="N1", name="自然")
    for unit in ("1-1-3201", "1-1-804", "10-1-101", "2-1-101", "1-1-80", "A-2"):
        Owner.objects.create(project=project, unit=unit, name="x")
    assert [o.unit for o in owners_search(query="", project_id=project.pk)] == [
        "1-1-80", "1-1-804", "1-1-3201", "2-1-101", "10-1-101", "A-2"]


def test_the_change_reads_against_the_previous_wave_of_the_same_series_on_postgresql():
    project = Project.objects.create(code="C1", name="变化")
    owners = [Owner.objects.create(project=project, unit=f"2-{i}", name="y") for i in range(60)]
    from surveys.services import response_submit

    waves = [("a2025", "company", date(2025, 4, 1), 30), ("g2026", "group", date(2026, 1, 1), 5),
             ("a2026", "company", date(2026, 4, 1), 50)]
    for code, series, starts_on, satisfied in waves:
        survey = survey_create(code=code, name=code, series=series, starts_on=starts_on)
        for i, owner in enumerate(owners):
            score = 5 if i < satisfied else 2
            response_submit(survey=survey, owner=owner, questionnaire_no=f"{code}-{i}", surveyed_on=starts_on,
                            scores={"overall": score, "repurchase": score, "recommend": score})
        metrics_compute(survey_id=survey.pk)
    from surveys.models import Survey

    headline = next(r for r in metric_rows(survey=Survey.objects.get(code="a2026")) if r["port"] is r["project"] is None
                    and r["stage"] is None)
    assert headline["change"]["from_survey"] == "a2025" and headline["change"]["significant"]
