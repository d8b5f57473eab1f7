"""Browser journey: staff records a complaint and a callback with headline scores; the port's feedback figures
and the touch-point survey change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from feedback.models import Callback, Feedback
from feedback.services import feedback_create
from owners.models import Owner, Project
from surveys.models import Response
from surveys.services import survey_create
from tests.conftest import login, screenshot
from tests.support import answer_once


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_records_a_complaint_and_a_callback_and_the_port_figures_follow(page, staff):
    today = timezone.localdate()
    project = Project.objects.create(code="CH01", name="翠湖花园", unit_count=200)
    owner = Owner.objects.create(
        project=project, unit="3-2-1502", name="李雷", phone="13812345678", move_in_date=today - timedelta(days=92)
    )
    feedback_create(kind="complaint", project=project, port="engineering", received_on=today - timedelta(days=10),
                    status="closed", closed_on=today - timedelta(days=4), description="外墙渗水")
    answer_once(survey_create(code="2026-annual", name="2026年度满意度调查"))
    login(page, staff)

    page.goto(f"{page.base_url}/dashboards/ports/engineering/")
    assert page.inner_text("#feedback-panel [data-kind=complaint]") == "1"
    page.goto(f"{page.base_url}/feedback/ports/engineering/")
    assert page.inner_text("#port-complaints") == "1"
    assert page.inner_text("#port-complaints-per-100") == "0.50"

    # Record a complaint from the nav, mostly with the keyboard.
    page.click("nav >> text=客户反馈")
    page.click("text=录入反馈")
    page.select_option("#id_kind", "complaint")
    page.select_option("#id_port", "engineering")
    page.select_option("#id_project", str(project.pk))
    page.focus("#id_unit")
    page.keyboard.type("3-2-1502")
    page.keyboard.press("Tab")
    page.keyboard.type("李雷")
    page.fill("#id_description", "")
    page.click("button[name=save]")
    # The empty description is refused in Chinese and nothing is lost.
    assert "请填写反馈内容" in page.inner_text("#feedback-form")
    assert page.input_value("#id_unit") == "3-2-1502"
    page.focus("#id_description")
    page.keyboard.type("卫生间地漏返水，已多次报修未解决")
    page.select_option("#id_severity", "major")
    page.click("button[name=save]")
    page.wait_for_url("**/feedback/*/")
    assert "已记录投诉" in page.inner_text("main")
    assert page.is_visible("#research-topic-link")
    assert Feedback.objects.filter(kind="complaint", owner=owner, severity="major").count() == 1

    page.goto(f"{page.base_url}/feedback/ports/engineering/")
    assert page.inner_text("#port-complaints") == "2"
    assert page.inner_text("#port-complaints-per-100") == "1.00"
    screenshot(page, "feedback-port-engineering")
    page.goto(f"{page.base_url}/dashboards/ports/engineering/")
    assert page.inner_text("#feedback-panel [data-kind=complaint]") == "2"
    assert page.inner_text("#panel-complaints-per-100") == "1.00"
    page.locator("#feedback-panel").scroll_into_view_if_needed()
    screenshot(page, "feedback-panel-on-port-dashboard")

    # The owner is due for the 3-month callback; record it with the three headline scores.
    page.click("nav >> text=回访计划")
    due = page.locator("#callback-due tbody tr", has_text="李雷")
    assert "138****5678" in due.inner_text() and "13812345678" not in page.content()
    screenshot(page, "feedback-callbacks-due")
    due.locator("text=记录回访").click()
    page.select_option("#id_outcome", "reached")
    page.select_option("#id_overall", "5")
    page.select_option("#id_repurchase", "4")
    page.select_option("#id_recommend", "5")
    page.fill("#id_notes", "业主对维修进度基本满意")
    page.click("#callback-form button[type=submit]")
    page.wait_for_url("**/feedback/callbacks/")
    assert "评分已计入回访触点调查" in page.inner_text("main")
    assert page.locator("#callback-due tbody tr", has_text="李雷").count() == 0
    assert "已接通" in page.inner_text("#callback-recent") and "5 / 4 / 5" in page.inner_text("#callback-recent")
    screenshot(page, "feedback-callbacks-recorded")

    callback = Callback.objects.get(owner=owner)
    response = Response.objects.get(survey__code=f"callback-{today.year}", owner=owner)
    assert callback.response == response
    assert (response.answers, response.survey.source) == ("545", "touchpoint")

    # A feedback file runs as an import job: a wrong port is listed on the job's page and nothing is written;
    # the corrected file imports, and both uploads are in the import history.
    header = "反馈编号,反馈类型,楼盘编码,房号,业主姓名,责任端口,受理日期,严重程度,处理状态,关闭日期,反馈内容\n"
    row = f"FK-1,报修,CH01,3-2-1502,李雷,{{port}},{(today - timedelta(days=3)).isoformat()},,,,厨房下水管堵塞\n"
    page.click("nav >> text=客户反馈")
    page.click("text=导入反馈")
    page.set_input_files("#id_file", files=[{"name": "反馈.csv", "mimeType": "text/csv",
                                             "buffer": (header + row.format(port="保安")).encode()}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#job-failed")
    assert "保安" in page.inner_text("#job-errors") and "未知端口" in page.inner_text("#job-errors")
    assert page.is_visible("#errors-xlsx")
    screenshot(page, "feedback-import-job-errors")
    page.click("text=再导入一个文件")
    page.set_input_files("#id_file", files=[{"name": "反馈.csv", "mimeType": "text/csv",
                                             "buffer": (header + row.format(port="工程质量")).encode()}])
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#count-created")
    assert page.inner_text("#count-created") == "1"
    assert Feedback.objects.filter(reference="FK-1", kind="repair", owner=owner).count() == 1
    page.click("text=导入记录 >> nth=-1")
    history = page.inner_text("#import-history")
    assert history.count("客户反馈") == 2 and "已导入" in history and "有错误" in history
    screenshot(page, "feedback-import-history")
