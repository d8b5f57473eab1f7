"""Data-in journeys in headless Chromium: keyboard-only entry reaching the first page, imports, a head refused."""

from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from django.utils import timezone

from owners.models import Owner, Project
from satisfaction.services import metrics_compute
from surveys.models import ImportJob, Response
from surveys.services import response_submit, survey_create
from tests.conftest import login, screenshot
from tests.support import SAMPLE_XLSX

REPO = Path(__file__).resolve().parents[1]
SAMPLE = SAMPLE_XLSX

# serialized_rollback: a transactional test flushes the tables, groups and ports seeded by migrations included.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def survey():
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 3, 1))


def test_staff_key_in_a_questionnaire_with_the_keyboard_alone_and_the_first_page_moves(page, staff, survey):
    project = Project.objects.create(code="HY", name="和园")
    answered = Owner.objects.create(project=project, unit="1-1-0101", name="孙一", move_in_date=date(2020, 5, 1))
    # Moved in 100 days ago: surveyed today (the form's default date) the owner is in the run-in stage.
    moved_in = timezone.localdate() - timedelta(days=100)
    Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678", move_in_date=moved_in)
    response_submit(survey=survey, owner=answered, questionnaire_no="Q-0001", surveyed_on=date(2026, 3, 2),
                    scores={"overall": 5, "repurchase": 5, "recommend": 4})
    metrics_compute(survey_id=survey.pk)

    login(page, staff)
    page.goto(f"{page.base_url}/")
    assert page.inner_text("#headline-satisfaction") == "100.0%"  # 1 of 1 scored 4 or 5

    page.goto(f"{page.base_url}/surveys/entry/?survey={survey.code}")
    assert page.evaluate("document.activeElement.id") == "owner-search"
    page.keyboard.type("1502")
    page.wait_for_selector("#owner-results a.owner-result")
    assert "138****5678" in page.inner_text("#owner-results") and "13812345678" not in page.content()
    page.keyboard.press("ArrowDown")
    assert "3-2-1502" in page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    page.wait_for_selector("#entry-form")
    assert page.evaluate("document.activeElement.name") == "questionnaire_no"
    assert page.inner_text("#stage-label") == "磨合期业主"

    page.keyboard.type("Q-0002")
    page.keyboard.press("Enter")  # the headline items are unanswered: Enter starts the scoring
    assert page.evaluate("document.activeElement.name") == "q_overall"
    for key in "245":  # overall 2, repurchase 4, recommend 5
        page.keyboard.press(key)
    page.keyboard.press("0")  # 规划设计: 不适用
    page.keyboard.press("3")  # 户型设计
    assert page.evaluate("document.activeElement.name") == "q_design_landscape"
    screenshot(page, "entry-form")
    page.keyboard.press("Enter")

    page.wait_for_selector(".alert-success")
    assert "已新增问卷 Q-0002" in page.inner_text(".alert-success")
    assert page.evaluate("document.activeElement.id") == "owner-search"  # ready for the next questionnaire
    saved = Response.objects.get(questionnaire_no="Q-0002")
    assert saved.answers[:5] == "245-3" and saved.stage == "run_in"

    page.goto(f"{page.base_url}/")
    assert page.inner_text("#headline-satisfaction") == "50.0%"  # 1 of 2: the new owner scored 2


def test_staff_upload_a_bad_file_read_its_errors_then_the_good_file_imports(page, staff, survey, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    bad = tmp_path / "survey-firm-bad.xlsx"
    workbook = openpyxl.load_workbook(SAMPLE)
    sheet = workbook.active
    sheet["J2"] = 7  # 总体满意度 out of range
    sheet["H3"] = "2026-02-30"  # 调查日期 that does not exist
    sheet["A5"] = sheet["A4"].value  # 问卷编号 twice in the file
    workbook.save(bad)

    login(page, staff)
    page.goto(f"{page.base_url}/surveys/imports/new/")
    page.select_option("#id_survey", label=f"{survey.name}")
    page.set_input_files("#id_file", str(bad))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#job-failed")
    assert "未写入任何数据" in page.inner_text("#job-failed")
    errors = page.inner_text("#job-errors")
    assert "总体满意度" in errors and "2026-02-30" in errors and sheet["A4"].value in errors
    assert page.locator("#job-errors tbody tr").count() == len(ImportJob.objects.get().errors) >= 3
    assert Response.objects.count() == 0 and Owner.objects.count() == 0
    screenshot(page, "import-job-errors")

    page.goto(f"{page.base_url}/surveys/imports/new/")
    page.select_option("#id_survey", label=f"{survey.name}")
    page.set_input_files("#id_file", str(SAMPLE))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#count-created")
    assert page.inner_text("#count-created") == "240"
    assert Response.objects.filter(survey=survey).count() == 240

    page.click("text=导入记录 >> nth=-1")
    page.wait_for_selector("#import-history")
    rows = page.locator("#import-history tbody tr")
    assert rows.count() == 2
    assert "survey-firm-sample.xlsx" in rows.nth(0).inner_text() and "已导入" in rows.nth(0).inner_text()
    assert "survey-firm-bad.xlsx" in rows.nth(1).inner_text() and "有错误" in rows.nth(1).inner_text()
    screenshot(page, "import-history")


def test_a_department_head_cannot_reach_the_data_in_pages(page, property_head, survey):
    login(page, property_head)
    assert "录入问卷" not in page.inner_text("nav")
    for path in ("/surveys/entry/", "/surveys/imports/new/", "/surveys/imports/", "/owners/"):
        assert page.goto(f"{page.base_url}{path}").status == 403, path
