"""A touch-point wave run from the browser by brand-service staff: a new questionnaire copied from the standard one
(an open comment question added, two detail items dropped), the wave, its template filled and imported, its
response rate, closing it (an entry and an import refused), reopening it."""

from datetime import date

import openpyxl
import pytest

from owners.models import Owner, Project
from surveys.models import Response, ResponseComment, Survey
from tests.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _row_index(page, code: str) -> str:
    name = page.get_attribute(f'#questionnaire-form input[name$="-code"][value="{code}"]', "name")
    return name.split("-")[1]


def _key_in(page, number: str) -> None:
    """The keyboard way: the number, Enter to the first item, 4 4 4 for the headline items, Enter saves."""
    page.focus("#id_questionnaire_no")
    page.keyboard.type(number)
    page.keyboard.press("Enter")
    for key in "444":
        page.keyboard.press(key)
    page.keyboard.press("Enter")


def test_staff_run_a_touch_point_wave_with_a_new_questionnaire_from_the_browser(page, staff, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    project = Project.objects.create(code="CH01", name="翠湖花园")
    for number in range(1, 5):
        Owner.objects.create(project=project, unit=f"3-2-{number}01", name=f"业主{number}", move_in_date=date(2025, 9, 1))
    login(page, staff)

    # The questionnaire: a copy of the standard one, two detail items dropped, an open comment question added.
    page.click("nav >> text=调查管理")
    page.click(".nav-tabs a[href='/surveys/questionnaires/']")
    page.wait_for_selector("#questionnaire-table")
    page.click('#questionnaire-table tr[data-questionnaire="standard"] >> text=复制为新问卷')
    page.fill("#id_code", "repair")
    page.fill("#id_name", "维修回访问卷")
    page.click("#questionnaire-copy-save")
    page.wait_for_selector("#questionnaire-form")
    for code in ("design_layout", "design_landscape"):
        page.check(f"#id_items-{_row_index(page, code)}-DELETE")
    blank = page.evaluate("""Array.from(document.querySelectorAll('#questionnaire-form input[name$="-code"]'))
        .find((input) => !input.value && !input.name.includes('__prefix__')).name""").split("-")[1]
    page.fill(f"#id_items-{blank}-code", "repair_note")
    page.fill(f"#id_items-{blank}-label", "您对维修服务还有什么建议？")
    page.select_option(f"#id_items-{blank}-kind", "comment")
    screenshot(page, "waves-questionnaire-editor")
    page.click("#questionnaire-save")
    page.wait_for_selector(".alert-success")
    assert "已保存问卷" in page.inner_text(".alert-success")

    # The wave, from the questionnaire's page: series 维修, the fieldwork period, one target project.
    page.click("#questionnaire-new-wave")
    page.fill("#id_code", "repair-2026")
    page.fill("#id_name", "2026年维修触点调查")
    page.select_option("#id_series", label="维修（触点调查）")
    page.fill("#id_starts_on", "2026-03-01")
    page.fill("#id_ends_on", "2026-03-31")
    assert "维修回访问卷" in page.locator("#id_questionnaire option:checked").inner_text()
    page.check(f'input[name="target_projects"][value="{project.pk}"]')
    screenshot(page, "waves-new-wave")
    page.click("#wave-save")
    page.wait_for_selector("#wave-facts")
    survey = Survey.objects.get(code="repair-2026")
    assert (survey.series.code, survey.questionnaire.code) == ("repair", "repair")
    assert page.inner_text("#wave-rate") == "0.0%"

    # Its template, filled in and imported.
    with page.expect_download() as download:
        page.click("#wave-template")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    workbook = openpyxl.load_workbook(template)
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    assert header[-1] == "您对维修服务还有什么建议？" and "户型设计" not in header and "园林景观" not in header
    sheet.delete_rows(2)
    for number in (1, 2):
        values = {"问卷编号": f"W{number}", "楼盘编码": "CH01", "楼盘名称": "翠湖花园", "房号": f"3-2-{number}01",
                  "业主姓名": f"业主{number}", "调查日期": "2026-03-10", "调查方式": "电话", "总体满意度": 3 + number,
                  "再次购买意愿": 4, "推荐意愿": 5, "您对维修服务还有什么建议？": "师傅来得很快" if number == 1 else None}
        sheet.append([values.get(name) for name in header])
    filled = tmp_path / "repair-2026.xlsx"
    workbook.save(filled)
    page.goto(f"{page.base_url}/surveys/waves/repair-2026/")
    page.click("#wave-import")
    assert page.locator("#id_survey option:checked").inner_text().startswith("2026年维修触点调查")
    page.set_input_files("#id_file", str(filled))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#count-created")
    assert page.inner_text("#count-created") == "2"
    assert ResponseComment.objects.get().text == "师傅来得很快"

    # The response rate: 2 of the 4 owners of the target project.
    page.goto(f"{page.base_url}/surveys/waves/repair-2026/")
    assert page.inner_text("#wave-rate") == "50.0%"
    assert "2 / 4" in page.inner_text("#rate-heading >> xpath=..")
    screenshot(page, "waves-wave-page")

    # Closed: an entry and an import are refused in plain words, nothing written.
    page.click("#wave-close")
    page.wait_for_selector("#closed-note")
    assert page.get_attribute(".wave-state", "data-state") == "closed"
    screenshot(page, "waves-wave-closed")
    late = Owner.objects.get(name="业主3")
    page.goto(f"{page.base_url}/surveys/entry/?survey=repair-2026&owner={late.pk}")
    assert page.is_visible("#entry-closed")
    assert page.input_value("#id_surveyed_on") == "2026-03-31"  # a day inside the period
    _key_in(page, "W3")
    page.wait_for_selector(".form-errors")
    assert "已关闭，不再接受新的或修改的答卷；如需补录请先重新开放" in page.inner_text(".form-errors")
    screenshot(page, "waves-entry-refused")
    page.goto(f"{page.base_url}/surveys/imports/new/?survey=repair-2026")
    page.set_input_files("#id_file", str(filled))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector(".invalid-feedback")
    assert "已关闭" in page.inner_text("#upload-form")
    assert Response.objects.filter(survey=survey).count() == 2

    # Reopened: the entry goes through.
    page.goto(f"{page.base_url}/surveys/waves/repair-2026/")
    page.click("#wave-reopen")
    page.wait_for_selector(".alert-success")
    assert page.get_attribute(".wave-state", "data-state") == "open"
    page.goto(f"{page.base_url}/surveys/entry/?survey=repair-2026&owner={late.pk}")
    _key_in(page, "W3")
    page.wait_for_selector(".alert-success")
    assert Response.objects.filter(survey=survey).count() == 3
