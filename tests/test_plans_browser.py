"""Journey 4–5 in Chromium: a head drafts and submits the property plan, management returns it, the head revises
and resubmits, management approves, the head records progress and sees it on the plan page."""

from datetime import date

import pytest
from django.core import mail
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from improvement_plans.models import ImprovementPlan, PlanStatus
from satisfaction.models import MetricSnapshot
from surveys.services import survey_create
from tests.conftest import login, screenshot


def logout(page) -> None:
    page.get_by_role("button", name="退出").click()
    page.wait_for_url("**/accounts/login/**")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_property_plan_goes_from_draft_through_return_to_approval_and_progress(page, property_head, manager):
    property_head.email, manager.email = "head@example.com", "manager@example.com"
    property_head.first_name, manager.first_name = "李物业", "张总"
    property_head.save()
    manager.save()
    survey = survey_create(code="2027-h1", name="2027 上半年满意度调查", starts_on=date(2027, 3, 1))
    low, high = proportion_confint(172, 200, method="wilson")
    MetricSnapshot.objects.create(
        survey=survey, port="property", project=None, stage="", n=200, satisfied=172, satisfaction_rate=0.86,
        satisfaction_ci_low=low, satisfaction_ci_high=high, computed_at=timezone.now(),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    console_errors = []  # a CSP violation (inline script or style) shows up here
    page.on(
        "console",
        lambda message: console_errors.append((message.text, message.location.get("url")))
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
        else None,
    )

    # The head drafts the plan and its first action item.
    login(page, property_head)
    page.get_by_role("link", name="提升计划").first.click()
    page.goto(f"{page.base_url}/plans/?year=2027")
    page.get_by_role("link", name="起草2027年物业管理计划").click()
    page.get_by_label("满意度目标（%）").fill("80")
    page.get_by_label("主要方向").fill("保洁与绿化外包考核；报修 24 小时闭环")
    page.get_by_label("一线反馈活动总结与评价").fill("上半年回访 320 户，投诉集中在保洁和绿化。")
    page.get_by_role("button", name="创建草稿").click()
    page.wait_for_selector("#plan-status")
    plan = ImprovementPlan.objects.get(year=2027, port="property")
    assert "86.0%" in page.inner_text("#target-satisfaction")  # actual from the 2027 snapshot
    assert "达成" in page.inner_text("#target-satisfaction")  # interval 80.5–90.1 % lies above 80 %

    page.get_by_role("link", name="添加行动项").click()
    page.get_by_label("名称").fill("保洁频次提升至每日两次")
    page.get_by_label("措施类别").select_option("frontline_quality")
    page.get_by_label("责任部门").select_option(label="物业公司")
    page.get_by_label("责任人").fill("陈经理")
    page.get_by_label("完成期限").fill("2027-06-30")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("#improvement-items >> text=保洁频次提升至每日两次")
    page.get_by_role("button", name="提交审批").click()
    page.wait_for_selector("text=计划已提交，等待管理层审批。")
    assert "待审批" in page.inner_text("#plan-status")
    screenshot(page, "plans-1-head-submitted")
    logout(page)

    # Management returns it with a comment.
    login(page, manager)
    page.get_by_role("link", name="提升计划").first.click()
    page.locator("#awaiting-review").get_by_role("link", name="2027 · 物业管理").click()
    page.get_by_label("意见（退回时必填）").fill("目标请不低于 85%，并补充绿化养护的措施。")
    page.get_by_role("button", name="退回修改").click()
    page.wait_for_selector("#returned-note")
    screenshot(page, "plans-2-manager-returned")
    logout(page)

    # The head sees why, revises and resubmits.
    login(page, property_head)
    page.goto(f"{page.base_url}/plans/{plan.pk}/")
    assert "目标请不低于 85%" in page.inner_text("#returned-note")
    page.get_by_role("link", name="修改计划").click()
    page.get_by_label("满意度目标（%）").fill("85")
    page.get_by_label("主要方向").fill("保洁与绿化外包考核；绿化补种与养护巡查；报修 24 小时闭环")
    page.get_by_role("button", name="保存").click()
    page.wait_for_selector("text=计划已保存。")
    assert "不确定" in page.inner_text("#target-satisfaction")  # 85 % lies inside the interval
    page.get_by_role("button", name="提交审批").click()
    page.wait_for_selector("text=计划已提交，等待管理层审批。")
    logout(page)

    # Management approves.
    login(page, manager)
    page.get_by_role("link", name="提升计划").first.click()
    page.locator("#awaiting-review").get_by_role("link", name="2027 · 物业管理").click()
    page.get_by_role("button", name="批准").click()
    page.wait_for_selector("text=计划已批准。")
    assert "已批准" in page.inner_text("#plan-status")
    logout(page)

    # The head records progress from the keyboard; the plan page shows it.
    login(page, property_head)
    page.goto(f"{page.base_url}/plans/{plan.pk}/")
    assert page.locator("#plan-edit").count() == 0  # approved: read-only
    page.get_by_role("link", name="保洁频次提升至每日两次").click()
    page.get_by_label("进展说明").focus()
    page.keyboard.type("一期、二期已按每日两次执行。")
    page.keyboard.press("Tab")
    page.keyboard.type("40")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # 未开始 → 进行中
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=进展已记录。")
    screenshot(page, "plans-3-item-progress")
    page.get_by_role("link", name="2027 · 物业管理").click()
    row = page.inner_text("#improvement-items")
    assert "40%" in row and "进行中" in row
    transitions = page.inner_text("#transition-table")
    for action in ("起草", "提交审批", "退回修改", "批准"):
        assert action in transitions
    screenshot(page, "plans-4-head-plan-approved")

    assert console_errors == []
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED and plan.satisfaction_target == pytest.approx(0.85)
    assert [m.to for m in mail.outbox] == [
        ["manager@example.com"], ["head@example.com"], ["manager@example.com"], ["head@example.com"]
    ]
