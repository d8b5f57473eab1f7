"""录入问卷: the keyed-entry form, its validation, edit-instead-of-duplicate, history, and who may use it."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from owners.models import Owner, Project
from surveys.models import Response
from surveys.services import survey_create

ENTRY = "/surveys/entry/"


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))


@pytest.fixture
def project(db):
    return Project.objects.create(code="HY", name="和园")


@pytest.fixture
def owner(project):
    return Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678", move_in_date=date(2025, 1, 10))


def headline_and_ports(**overrides) -> dict:
    """A filled questionnaire: the three headline items and the five port items; the details left out."""
    answers = {"q_overall": "5", "q_repurchase": "4", "q_recommend": "3", "q_design": "4", "q_engineering": "2",
               "q_sales": "na", "q_service": "5", "q_property": "1"}
    answers.update(overrides)
    return answers


def post_entry(client, survey, owner, **fields):
    data = {"survey": survey.code, "owner": owner.pk, "questionnaire_no": "Q-0001", "surveyed_on": "2026-01-10",
            "channel": "paper", **headline_and_ports()}
    data.update(fields)
    return client.post(ENTRY, {k: v for k, v in data.items() if v is not None})


def test_a_department_head_is_refused_every_data_in_page(client, property_head, survey, owner):
    client.force_login(property_head)
    urls = [
        ENTRY,
        f"{ENTRY}owners/?q=3-2",
        f"{ENTRY}stage/?owner={owner.pk}&surveyed_on=2026-01-10",
        "/surveys/imports/",
        "/surveys/imports/new/",
        "/owners/",
        "/owners/new/",
        "/surveys/imports/owners/",
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    refused = post_entry(client, survey, owner)
    assert refused.status_code == 403 and "只有品牌客服专员可以使用此页面" in refused.content.decode()
    assert not Response.objects.exists()


def test_an_administrator_without_a_role_may_use_the_data_in_pages(client, survey):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", password="x-Admin-pass-2026"))
    for url in (ENTRY, "/surveys/imports/new/", "/surveys/imports/", "/owners/"):
        assert client.get(url).status_code == 200, url


def test_the_data_in_links_show_in_the_menu_for_staff_only(client, staff, property_head, survey):
    client.force_login(staff)
    page = client.get("/").content.decode()
    for label in ("录入问卷", "导入记录", reverse("owners:list")):
        assert label in page
    client.force_login(property_head)
    assert "录入问卷" not in client.get("/").content.decode()


def test_the_owner_search_finds_by_unit_name_and_phone_tail_and_masks_the_phone(client, staff, survey, owner, project):
    Owner.objects.create(project=project, unit="5-1-0201", name="李四", phone="13900005678")
    client.force_login(staff)
    for query in ("3-2-15", "张三", "5678"):
        page = client.get(f"{ENTRY}owners/", {"q": query, "survey": survey.code}).content.decode()
        assert "3-2-1502" in page, query
        assert "138****5678" in page
        assert "13812345678" not in page
    page = client.get(f"{ENTRY}owners/", {"q": "李四", "survey": survey.code}).content.decode()
    assert "5-1-0201" in page and "3-2-1502" not in page
    page = client.get(f"{ENTRY}owners/", {"q": "王五", "survey": survey.code}).content.decode()
    assert "没有找到" in page and "新增这位业主" in page


def test_the_form_lists_the_headline_items_first_then_each_port(client, staff, survey, owner):
    client.force_login(staff)
    page = client.get(ENTRY, {"survey": survey.code, "owner": owner.pk}).content.decode()
    form = page[page.index('id="entry-form"'):]
    positions = [form.index(label) for label in ("总体满意度", "推荐意愿", "规划设计", "户型设计", "工程质量", "物业管理", "公共设施维护")]
    assert positions == sorted(positions)
    assert form.count('value="na"') == 21  # 不适用 offered on every item except the three required ones
    assert 'value="2026-' not in page or f'value="{timezone.localdate().isoformat()}"' in page
    assert "138****5678" in page and "13812345678" not in page
    assert "style=" not in page and "onclick" not in page


def test_a_valid_questionnaire_is_saved_with_its_scores_and_the_stage_as_of_the_survey_date(client, staff, survey, owner):
    client.force_login(staff)
    response = post_entry(client, survey, owner)
    assert response.status_code == 302
    assert response["Location"] == f"{ENTRY}?survey={survey.code}"
    saved = Response.objects.get()
    # One character per question in questionnaire order: headline 5 4 3, each port item then its details (unanswered).
    assert saved.answers == "543" + "4---" + "2---" + "----" + "5---" + "1----"
    # Moved in 2025-01-10, surveyed on the first anniversary: still 磨合期 (一年以内 includes the bound).
    assert saved.stage == "run_in"
    assert saved.channel == "paper" and saved.surveyed_on == date(2026, 1, 10)
    page = client.get(response["Location"]).content.decode()
    assert "已新增问卷 Q-0001" in page
    assert 'id="owner-search"' in page and "autofocus" in page  # ready for the next questionnaire


def test_the_day_after_the_anniversary_freezes_the_stable_stage(client, staff, survey, owner):
    client.force_login(staff)
    post_entry(client, survey, owner, surveyed_on="2026-01-11")
    assert Response.objects.get().stage == "stable"


def test_a_missing_headline_item_is_refused_next_to_the_item_and_nothing_is_saved(client, staff, survey, owner):
    client.force_login(staff)
    response = post_entry(client, survey, owner, q_repurchase=None)
    assert response.status_code == 400
    page = response.content.decode()
    assert "必答题，请打 1–5 分" in page
    assert 'data-code="repurchase"' in page and page.index("必答题，请打") > page.index('data-code="repurchase"')
    assert not Response.objects.exists()
    # What was typed is kept.
    assert 'value="Q-0001"' in page
    assert 'value="5" class="btn-check" autocomplete="off" id="id_q_overall_4" checked' in page


def test_bad_dates_and_missing_numbers_are_refused_in_chinese(client, staff, survey, owner):
    client.force_login(staff)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = post_entry(client, survey, owner, surveyed_on=tomorrow, questionnaire_no="").content.decode()
    assert "调查日期不能晚于今天" in page and "请填写问卷编号" in page
    page = post_entry(client, survey, owner, surveyed_on="2026-13-45").content.decode()
    assert "请填写有效的日期" in page
    page = post_entry(client, survey, owner, q_overall="7").content.decode()
    assert "请选择 1–5 分或不适用" in page
    assert not Response.objects.exists()


def test_a_questionnaire_number_already_used_by_another_owner_is_refused(client, staff, survey, owner, project):
    other = Owner.objects.create(project=project, unit="1-1-101", name="赵六")
    client.force_login(staff)
    post_entry(client, survey, other, questionnaire_no="Q-0009")
    response = post_entry(client, survey, owner, questionnaire_no="Q-0009")
    assert response.status_code == 400
    assert "问卷编号“Q-0009”在本次调查中已用于业主 1-1-101 赵六" in response.content.decode()
    assert Response.objects.count() == 1


def test_choosing_an_owner_who_already_answered_opens_that_response_for_editing(client, staff, survey, owner):
    client.force_login(staff)
    post_entry(client, survey, owner)
    existing = Response.objects.get()
    response = client.get(ENTRY, {"survey": survey.code, "owner": owner.pk})
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:response_edit", args=[existing.pk])
    page = client.get(response["Location"]).content.decode()
    assert "已有答卷 Q-0001，已为你打开编辑" in page
    assert 'value="Q-0001"' in page


def test_saving_an_owner_twice_updates_the_one_response_and_the_history_shows_each_change(client, staff, survey, owner):
    client.force_login(staff)
    post_entry(client, survey, owner)
    existing = Response.objects.get()
    response = client.post(
        reverse("surveys:response_edit", args=[existing.pk]),
        {"questionnaire_no": "Q-0001", "surveyed_on": "2026-01-10", "channel": "phone", **headline_and_ports(q_overall="2")},
    )
    assert response.status_code == 302
    # The entry form posting the same owner again also updates rather than adding a second response.
    post_entry(client, survey, owner, q_overall="2", q_property="4", channel="phone")
    assert Response.objects.count() == 1
    existing.refresh_from_db()
    assert existing.answers[0] == "2" and existing.answers[19] == "4"
    page = client.get(reverse("surveys:response_edit", args=[existing.pk])).content.decode()
    history = page[page.index('id="response-history"'):]
    assert history.count("history-entry") == 3
    assert "新增" in history and "修改" in history and "王敏" in history
    # The first edit: 总体满意度 5 → 2 and 调查方式 纸质 → 电话; the second: 物业管理 1 → 4.
    assert "<th scope=\"row\" class=\"fw-normal\">总体满意度</th><td>5</td><td>2</td>" in history
    assert "<th scope=\"row\" class=\"fw-normal\">调查方式</th><td>纸质</td><td>电话</td>" in history
    assert "<th scope=\"row\" class=\"fw-normal\">物业管理</th><td>1</td><td>4</td>" in history
    assert history.index("物业管理") < history.index("总体满意度")  # newest first


def test_the_stage_preview_follows_the_survey_date(client, staff, owner):
    client.force_login(staff)
    url = f"{ENTRY}stage/"
    assert "磨合期业主" in client.get(url, {"owner": owner.pk, "surveyed_on": "2026-01-10"}).content.decode()
    assert "稳定期业主" in client.get(url, {"owner": owner.pk, "surveyed_on": "2026-06-01"}).content.decode()
    assert "老业主" in client.get(url, {"owner": owner.pk, "surveyed_on": "2027-01-10"}).content.decode()
    assert "准业主" in client.get(url, {"owner": owner.pk, "surveyed_on": "2024-12-31"}).content.decode()
    assert "请填写有效的调查日期" in client.get(url, {"owner": owner.pk, "surveyed_on": ""}).content.decode()


def test_a_new_owner_is_validated_and_then_comes_back_selected_on_the_entry_form(client, staff, survey, project, owner):
    client.force_login(staff)
    url = f"/owners/new/?survey={survey.code}"
    bad = client.post(url, {"project": "", "unit": "3 2 #1502", "name": " ", "phone": "12345", "move_in_date": "2025-02-30"})
    assert bad.status_code == 400
    page = bad.content.decode()
    for message in ("请选择楼盘", "房号格式应为 楼栋-单元-房号", "请填写业主姓名", "联系电话应为 7–15 位数字", "请填写有效的日期"):
        assert message in page, message
    duplicate = client.post(url, {"project": project.pk, "unit": "3-2-1502", "name": "张三"})
    assert "已有业主“张三”" in duplicate.content.decode()
    assert Owner.objects.count() == 1
    good = client.post(url, {"project": project.pk, "unit": "7－1－0802", "name": "钱七", "phone": "139 1234 0000", "move_in_date": ""})
    created = Owner.objects.get(name="钱七")
    assert created.unit == "7-1-0802" and created.phone == "13912340000" and created.move_in_date is None
    assert good["Location"] == f"{ENTRY}?survey={survey.code}&owner={created.pk}"
    page = client.get(good["Location"]).content.decode()
    assert 'id="entry-form"' in page and "准业主" in page
