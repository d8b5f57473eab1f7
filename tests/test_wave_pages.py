"""The wave pages of brand-service staff: waves, series, questionnaires, the sample frame and response rate, closing,
keyed entry inside the fieldwork period, the raw questionnaires and their export, what an import created."""

import io
import re
from datetime import date, timedelta

import openpyxl
import pandas as pd
import pytest
from django.utils import timezone

from owners.models import Owner, Project
from owners.stages import stage_as_of
from surveys.importer import responses_import
from surveys.models import ImportJob, Questionnaire, Response, ResponseComment, Survey, SurveySeries
from surveys.selectors import survey_answer_codes
from surveys.services import (
    ItemDef,
    questionnaire_copy,
    questionnaire_save,
    response_submit,
    survey_close,
    survey_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects(db):
    return [Project.objects.create(code="P1", name="翠湖花园"), Project.objects.create(code="P2", name="山景苑")]


@pytest.fixture
def wave(projects):
    """A touch-point wave of a questionnaire with a comment question, some owners answered."""
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="repair", name="维修回访问卷")
    mine = questionnaire_save(questionnaire=mine, name=mine.name, items=[
        *mine.items.order_by("position"), ItemDef("property_fix", "维修质量", "detail", "property"),
        ItemDef("suggestion", "您的建议", "comment"),
    ])
    survey = survey_create(code="repair-2026", name="维修触点 2026", series="repair", questionnaire=mine,
                           starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31), target_projects=[projects[0]])
    move_ins = [None, date(2025, 9, 1), date(2024, 1, 1), date(2020, 5, 1), date(2026, 2, 1), date(2025, 3, 2)]
    for i, move_in in enumerate(move_ins):
        owner = Owner.objects.create(project=projects[0], unit=f"1-1-{(i + 1) * 401}", name=f"业主{i}",
                                     move_in_date=move_in)
        if i % 2 == 0:
            response_submit(survey=survey, owner=owner, questionnaire_no=f"R{i}", surveyed_on=date(2026, 3, 10),
                            scores={"overall": 1 + i % 5, "repurchase": 4, "recommend": 4, "property_fix": 2 + i % 3},
                            channel="phone" if i < 3 else "online",
                            comments={"suggestion": "-等太久了" if i == 0 else ("很满意" if i == 2 else "")})
    # Not targeted: another project.
    other = Owner.objects.create(project=projects[1], unit="9-9-901", name="外盘业主")
    response_submit(survey=survey, owner=other, questionnaire_no="X1", surveyed_on=date(2026, 3, 12),
                    scores={"overall": 5, "repurchase": 5, "recommend": 5})
    return survey


def test_the_pages_are_for_brand_service_staff_only(client, property_head, wave):
    client.force_login(property_head)
    for url in ("/surveys/waves/", "/surveys/waves/repair-2026/", "/surveys/questionnaires/", "/surveys/series/",
                "/surveys/waves/repair-2026/responses/", "/surveys/waves/repair-2026/response-rate/"):
        assert client.get(url).status_code == 403, url


def test_staff_create_a_wave_from_the_form_and_it_gets_its_questionnaires_questions(client, staff, projects):
    client.force_login(staff)
    page = client.get("/surveys/waves/new/?series=handover")
    assert page.status_code == 200 and "handover" in page.content.decode()
    answer = client.post("/surveys/waves/new/", {
        "code": "handover-2026", "name": "交付触点 2026", "series": SurveySeries.objects.get(code="handover").pk,
        "source": "", "starts_on": "2026-05-01", "ends_on": "2026-05-31",
        "questionnaire": Questionnaire.objects.get(code="headline").pk, "target_projects": [projects[1].pk],
        "target_stages": ["run_in", "prospective"], "weighting": "none",
    })
    assert answer.status_code == 302 and answer["Location"] == "/surveys/waves/handover-2026/"
    survey = Survey.objects.get(code="handover-2026")
    assert (survey.source, survey.target_stages, list(survey.target_projects.all())) == (
        "touchpoint", ["prospective", "run_in"], [projects[1]])
    assert survey_answer_codes(survey=survey) == ["overall", "repurchase", "recommend"]


def test_a_refused_wave_form_says_why_and_keeps_the_input(client, staff):
    client.force_login(staff)
    answer = client.post("/surveys/waves/new/", {
        "code": "bad code", "name": "坏", "series": SurveySeries.objects.get(code="repair").pk, "source": "company",
        "starts_on": "2026-05-31", "ends_on": "2026-05-01", "questionnaire": Questionnaire.objects.get(code="standard").pk,
        "weighting": "none",
    })
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "结束日期不能早于开始日期" in html and 'value="bad code"' in html
    assert not Survey.objects.filter(name="坏").exists()


def test_a_wave_with_responses_keeps_its_questionnaire_in_the_edit_form(client, staff, wave):
    client.force_login(staff)
    html = client.get("/surveys/waves/repair-2026/edit/").content.decode()
    assert "已有答卷，问卷不能更换" in html and re.search(r'<select[^>]*name="questionnaire"[^>]*disabled', html)
    answer = client.post("/surveys/waves/repair-2026/edit/", {
        "code": "repair-2026", "name": "维修触点 2026（改）", "series": wave.series_id, "source": "",
        "starts_on": "2026-03-01", "ends_on": "2026-04-15", "questionnaire": Questionnaire.objects.get(code="standard").pk,
        "target_projects": [wave.target_projects.get().pk], "weighting": "population",
    })
    assert answer.status_code == 302
    wave.refresh_from_db()
    assert (wave.name, wave.ends_on, wave.weighting, wave.questionnaire.code) == (
        "维修触点 2026（改）", date(2026, 4, 15), "population", "repair")


def _independent_rates(survey, projects):
    """The frame recounted with pandas from every owner: stage as of the period start, answered by owner id."""
    owners = pd.DataFrame(list(Owner.objects.values("id", "project__code", "move_in_date", "contract_date")))
    owners["stage"] = [stage_as_of(m if pd.notna(m) else None, survey.starts_on) for m in owners["move_in_date"]]
    targeted = owners[owners["project__code"].isin([p.code for p in survey.target_projects.all()])]
    answered = set(Response.objects.filter(survey=survey).values_list("owner_id", flat=True))
    targeted = targeted.assign(answered=targeted["id"].isin(answered))
    return targeted.groupby(["project__code", "stage"])["answered"].agg(["size", "sum"])


def test_the_wave_page_shows_the_sample_frame_and_response_rate_per_project_and_stage(client, staff, wave, projects):
    client.force_login(staff)
    html = client.get("/surveys/waves/repair-2026/").content.decode()
    expected = _independent_rates(wave, projects)
    assert int(expected["size"].sum()) == 6 and int(expected["sum"].sum()) == 3
    assert re.search(r'id="wave-rate">50\.0%<', html)
    assert "另有 1 份答卷来自样本框以外的业主" in html
    for (project, stage), row in expected.iterrows():
        cell = re.search(rf'<tr data-project="{project}" data-stage="{stage}">.*?</tr>', html, re.S).group(0)
        numbers = re.findall(r'<td class="num">([^<]*)</td>', cell)
        assert numbers[:2] == [str(int(row["size"])), str(int(row["sum"]))], (project, stage)
    assert "维修回访问卷 v1" in html and "进行中" in html


def test_closing_and_reopening_a_wave_from_its_page(client, staff, wave, projects):
    client.force_login(staff)
    assert client.post("/surveys/waves/repair-2026/close/").status_code == 302
    html = client.get("/surveys/waves/repair-2026/").content.decode()
    assert 'data-state="closed"' in html and 'id="closed-note"' in html and "王敏" in html
    owner = Owner.objects.get(name="业主1")
    refused = client.post("/surveys/entry/", {
        "survey": "repair-2026", "owner": owner.pk, "questionnaire_no": "R1", "surveyed_on": "2026-03-11",
        "channel": "phone", "q_overall": "4", "q_repurchase": "4", "q_recommend": "4", "q_property_fix": "na",
    })
    assert refused.status_code == 400 and "已关闭，不再接受新的或修改的答卷" in refused.content.decode()
    assert not Response.objects.filter(owner=owner).exists()
    assert client.post("/surveys/waves/repair-2026/reopen/").status_code == 302
    assert 'data-state="open"' in client.get("/surveys/waves/repair-2026/").content.decode()


def test_an_upload_into_a_closed_wave_is_refused_next_to_the_survey(client, staff, wave):
    survey_close(survey=wave, user=staff)
    client.force_login(staff)
    from surveys.importer import response_template_xlsx

    upload = io.BytesIO(response_template_xlsx(survey=wave))
    upload.name = "late.xlsx"
    answer = client.post("/surveys/imports/new/", {"survey": wave.pk, "file": upload})
    assert answer.status_code == 400 and "已关闭" in answer.content.decode()
    assert not ImportJob.objects.exists()


def test_keyed_entry_offers_a_day_inside_the_period_and_asks_before_saving_a_day_outside(client, staff, wave):
    client.force_login(staff)
    owner = Owner.objects.get(name="业主1")
    page = client.get(f"/surveys/entry/?survey=repair-2026&owner={owner.pk}").content.decode()
    assert 'value="2026-03-31"' in page  # the period ended before today: its last day
    post = {"survey": "repair-2026", "owner": owner.pk, "questionnaire_no": "R1", "surveyed_on": "2026-04-20",
            "channel": "phone", "q_overall": "4", "q_repurchase": "4", "q_recommend": "4", "q_property_fix": "na"}
    refused = client.post("/surveys/entry/", post)
    html = refused.content.decode()
    assert refused.status_code == 400 and "不在本次调查期间（2026-03-01 至 2026-03-31）内" in html
    assert 'name="confirm_outside_period"' in html and 'value="2026-04-20"' in html
    assert client.post("/surveys/entry/", post | {"confirm_outside_period": "on"}).status_code == 302
    response = Response.objects.get(owner=owner)
    assert (response.surveyed_on, response.stage) == (date(2026, 4, 20), stage_as_of(owner.move_in_date, date(2026, 4, 20)))
    inside = client.post("/surveys/entry/", post | {"surveyed_on": "2026-03-20"})
    assert inside.status_code == 302


def test_entry_and_the_response_page_keep_the_open_comment(client, staff, wave):
    client.force_login(staff)
    response = Response.objects.get(questionnaire_no="R2")
    page = client.get(f"/surveys/responses/{response.pk}/").content.decode()
    assert "您的建议" in page and "很满意" in page
    client.post(f"/surveys/responses/{response.pk}/", {
        "owner": response.owner_id, "questionnaire_no": "R2", "surveyed_on": "2026-03-10", "channel": "phone",
        "q_overall": "3", "q_repurchase": "4", "q_recommend": "4", "q_property_fix": "na", "c_suggestion": "还不错",
    })
    assert ResponseComment.objects.get(response=response).text == "还不错"
    page = client.get(f"/surveys/responses/{response.pk}/").content.decode()
    assert "修改意见" in page and "很满意" in page and "还不错" in page


def test_the_raw_questionnaires_filter_by_project_stage_channel_score_and_comment(client, staff, wave):
    client.force_login(staff)

    def numbers(query):
        html = client.get(f"/surveys/waves/repair-2026/responses/?{query}").content.decode()
        return sorted(re.findall(r'<tr data-response="([^"]+)"', html))

    assert numbers("") == ["R0", "R2", "R4", "X1"]
    assert numbers("project=P2") == ["X1"]
    assert numbers("channel=online") == ["R4"]
    assert numbers("item=overall&min_score=1&max_score=3") == ["R0", "R2"]
    assert numbers("item=property_fix&min_score=4") == ["R2"]
    assert numbers("comment=满意") == ["R2"]
    stage = Response.objects.get(questionnaire_no="R4").stage
    assert "R4" in numbers(f"stage={stage}")
    html = client.get("/surveys/waves/repair-2026/responses/?min_score=2").content.decode()
    assert "按分数筛选请先选择题目" in html
    opened = Response.objects.get(questionnaire_no="R0")
    html = client.get(f"/surveys/waves/repair-2026/responses/?open={opened.pk}").content.decode()
    assert 'id="raw-opened"' in html and "新增" in html


def test_the_raw_export_is_in_the_import_format_and_reimports_unchanged(client, staff, wave):
    client.force_login(staff)
    export = client.get("/surveys/waves/repair-2026/responses.xlsx")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[:8] == ["问卷编号", "楼盘编码", "楼盘名称", "房号", "业主姓名", "入住日期", "调查日期", "调查方式"]
    assert header[8:] == ["总体满意度", "再次购买意愿", "推荐意愿", "维修质量", "您的建议"]
    first = [cell.value for cell in sheet[2]]
    assert first[0] == "R0" and first[-1] == "'-等太久了"  # neutralised, and read back by the importer
    before = list(Response.objects.order_by("id").values_list("answers", "stage", "surveyed_on", "channel"))
    comments = list(ResponseComment.objects.order_by("id").values_list("text", flat=True))
    history = Response.history.count(), ResponseComment.history.count()
    result = responses_import(survey=wave, data=export.content, file_name="export.xlsx", user=staff)
    assert result.ok, result.errors[:3]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 4)
    assert list(Response.objects.order_by("id").values_list("answers", "stage", "surveyed_on", "channel")) == before
    assert list(ResponseComment.objects.order_by("id").values_list("text", flat=True)) == comments
    assert (Response.history.count(), ResponseComment.history.count()) == history
    filtered = client.get("/surveys/waves/repair-2026/responses.xlsx?channel=online")
    rows = list(openpyxl.load_workbook(io.BytesIO(filtered.content)).active.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["R4"]


def test_the_questionnaire_editor_drops_adds_reorders_and_a_frozen_version_becomes_a_new_one(client, staff, wave):
    client.force_login(staff)
    standard = Questionnaire.objects.get(code="standard")
    answer = client.post(f"/surveys/questionnaires/{standard.pk}/copy/", {"code": "handover", "name": "交付问卷"})
    copy = Questionnaire.objects.get(code="handover")
    assert answer["Location"] == f"/surveys/questionnaires/{copy.pk}/"
    items = list(copy.items.order_by("position"))
    data = {"name": "交付问卷", "items-TOTAL_FORMS": str(len(items) + 2), "items-INITIAL_FORMS": str(len(items)),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for n, item in enumerate(items):
        data |= {f"items-{n}-code": item.code, f"items-{n}-label": item.label, f"items-{n}-kind": item.kind,
                 f"items-{n}-port": item.port, f"items-{n}-ORDER": str(n + 1)}
        if item.required:
            data[f"items-{n}-required"] = "on"
        if item.code in ("design_layout", "design_landscape"):
            data[f"items-{n}-DELETE"] = "on"
    extra = len(items)
    data |= {f"items-{extra}-code": "handover_note", f"items-{extra}-label": "您对交付还有什么意见？",
             f"items-{extra}-kind": "comment", f"items-{extra}-port": "", f"items-{extra}-ORDER": "0",
             f"items-{extra + 1}-kind": "detail"}  # the empty row as a browser posts it
    answer = client.post(f"/surveys/questionnaires/{copy.pk}/", data)
    assert answer.status_code == 302, answer.content.decode()[:2000]
    codes = list(copy.items.order_by("position").values_list("code", flat=True))
    assert codes[0] == "handover_note" and "design_layout" not in codes and len(codes) == len(items) - 1

    repair = wave.questionnaire
    frozen_page = client.get(f"/surveys/questionnaires/{repair.pk}/").content.decode()
    assert 'id="frozen-note"' in frozen_page and "保存为新版本" in frozen_page
    repair_items = list(repair.items.order_by("position"))
    data = {"name": "维修回访问卷", "items-TOTAL_FORMS": str(len(repair_items)), "items-INITIAL_FORMS": str(len(repair_items)),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for n, item in enumerate(repair_items):
        data |= {f"items-{n}-code": item.code, f"items-{n}-label": item.label + ("（新）" if n == 3 else ""),
                 f"items-{n}-kind": item.kind, f"items-{n}-port": item.port, f"items-{n}-ORDER": str(n + 1)}
    answer = client.post(f"/surveys/questionnaires/{repair.pk}/", data, follow=True)
    new = Questionnaire.objects.get(code="repair", version=2)
    assert "已保存为新版本 2" in answer.content.decode()
    assert repair.items.get(code="property_fix").label == "维修质量"
    assert new.items.get(code="property_fix").label == "维修质量（新）"


def test_a_refused_questionnaire_lists_each_problem_and_keeps_the_rows(client, staff):
    client.force_login(staff)
    mine = questionnaire_copy(source=Questionnaire.objects.get(code="headline"), code="tp", name="触点")
    data = {"name": "触点", "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000", "items-0-code": "overall", "items-0-label": "总体", "items-0-kind": "headline",
            "items-1-code": "fix", "items-1-label": "维修", "items-1-kind": "detail"}
    answer = client.post(f"/surveys/questionnaires/{mine.pk}/", data)
    html = answer.content.decode()
    assert answer.status_code == 400 and "端口总体题和细项题必须选择端口" in html and 'value="维修"' in html
    assert mine.items.count() == 3


def test_staff_add_a_touch_point_kind_and_a_wave_of_it(client, staff):
    client.force_login(staff)
    answer = client.post("/surveys/series/", {"code": "move-out", "name": "装修后回访", "source": "touchpoint"})
    assert answer.status_code == 302
    series = SurveySeries.objects.get(code="move-out")
    assert series.position > SurveySeries.objects.get(code="complaint").position
    again = client.post("/surveys/series/", {"code": "move-out", "name": "重复", "source": "touchpoint"})
    assert again.status_code == 400 and "已存在" in again.content.decode()
    assert "装修后回访" in client.get("/surveys/waves/new/").content.decode()


def test_the_import_result_and_history_name_the_projects_and_owners_it_created(client, staff, wave):
    from surveys.importing.jobs import import_job_run
    from surveys.services import import_job_start

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["问卷编号", "楼盘编码", "楼盘名称", "房号", "业主姓名", "调查日期", "总体满意度", "再次购买意愿", "推荐意愿"])
    sheet.append(["N1", "NEW1", "新楼盘一", "2-1-3201", "新业主甲", "2026-03-05", 5, 5, 5])
    sheet.append(["N2", "NEW1", "新楼盘一", "2-1-804", "新业主乙", "2026-03-05", 4, 4, 4])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = import_job_start(kind="responses", survey=wave, data=buffer.getvalue(), file_name="new.xlsx", user=staff)
    job = import_job_run(job_id=job.pk)
    assert job.created_projects == [["NEW1", "新楼盘一"]] and job.created_owner_count == 2
    client.force_login(staff)
    page = client.get(f"/surveys/imports/{job.pk}/").content.decode()
    assert "新楼盘一" in page and "2-1-3201 新业主甲" in page and "新业主 2 位" in page
    history = client.get("/surveys/imports/").content.decode()
    assert "新楼盘一（NEW1）" in history and "新业主乙" in history


def test_owner_lists_sort_units_naturally(client, staff, projects):
    for unit in ("1-1-3201", "1-1-804", "10-1-101", "2-1-101", "1-1-80"):
        Owner.objects.create(project=projects[0], unit=unit, name=f"业主{unit}")
    client.force_login(staff)
    html = client.get("/owners/?q=-1-").content.decode()
    units = [u for u in re.findall(r"(\d+-1-\d+)", html) if u in ("1-1-3201", "1-1-804", "10-1-101", "2-1-101", "1-1-80")]
    assert list(dict.fromkeys(units)) == ["1-1-80", "1-1-804", "1-1-3201", "2-1-101", "10-1-101"]


def test_the_overview_loads_the_response_rate_panel_of_its_survey(client, manager, wave):
    client.force_login(manager)
    html = client.get("/dashboards/?survey=repair-2026").content.decode()
    assert "/surveys/waves/repair-2026/response-rate/" in html
    panel = client.get("/surveys/waves/repair-2026/response-rate/").content.decode()
    assert 'id="rate-panel-total">50.0%<' in panel and "翠湖花园" in panel


def test_the_date_defaults_to_today_while_a_wave_is_in_the_field(client, staff, projects):
    today = timezone.localdate()
    survey_create(code="now", name="进行中", starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=3))
    owner = Owner.objects.create(project=projects[0], unit="5-1-101", name="今天")
    client.force_login(staff)
    page = client.get(f"/surveys/entry/?survey=now&owner={owner.pk}").content.decode()
    assert f'value="{today.isoformat()}"' in page and "confirm_outside_period" not in page
