"""Issue 14 journeys in Chromium: staff reveal a phone on the callback page (a PhoneAccessLog row appears) and
record the call in place; management adds an action item to an approved plan."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from feedback.models import Callback
from improvement_plans import services
from improvement_plans.models import ActionItem, ImprovementPlan
from owners.models import Owner, PhoneAccessLog, Project
from tests.conftest import login, screenshot


def _console_errors(page) -> list:
    errors = []  # a CSP violation (inline script or style) shows up here
    page.on(
        "console",
        lambda message: errors.append((message.text, message.location.get("url")))
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
        else None,
    )
    return errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_reveal_a_phone_and_record_the_call_on_the_callback_page(page, staff):
    today = timezone.localdate()
    project = Project.objects.create(code="P1", name="翠湖花园")
    other = Project.objects.create(code="P2", name="江南府")
    owner = Owner.objects.create(project=project, unit="1-101", name="陈业主", phone="13812345678",
                                 move_in_date=today - timedelta(days=92))
    Owner.objects.create(project=other, unit="2-101", name="林业主", phone="13900001111",
                         move_in_date=today - timedelta(days=92))
    errors = _console_errors(page)

    login(page, staff)
    page.goto(f"{page.base_url}/feedback/callbacks/")
    page.get_by_label("楼盘").select_option(str(project.pk))
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**project=*")
    row = page.locator(f'#callback-due tr[data-owner="{owner.pk}"]')
    assert page.locator("#callback-due tr[data-owner]").count() == 1
    assert "138****5678" in row.inner_text()

    row.get_by_role("button", name="显示号码").click()
    page.wait_for_selector(f"#phone-cell-{owner.pk} [data-phone-revealed]")
    assert row.locator("a[href='tel:13812345678']").count() == 1
    log = PhoneAccessLog.objects.get()
    assert (log.user, log.owner) == (staff, owner)

    row.get_by_label("回访结果").select_option("reached")
    row.get_by_label("备注").fill("业主反映车位紧张")
    screenshot(page, "issue14b-callback-row")
    row.get_by_role("button", name="保存").click()
    page.wait_for_selector("[data-callback-done]")
    assert "已记录对 1-101 陈业主 的回访（已接通）" in page.inner_text("#callback-due")
    callback = Callback.objects.get()
    assert (callback.owner, callback.outcome, callback.notes, callback.called_by) == (owner, "reached", "业主反映车位紧张", staff)
    assert PhoneAccessLog.objects.count() == 1  # one reveal, one row
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_management_adds_an_action_item_to_an_approved_plan(page, property_head, manager, second_manager):
    property_head.email, manager.email, second_manager.email = "head@example.com", "m1@example.com", "m2@example.com"
    for user in (property_head, manager, second_manager):
        user.save()
    plan = services.plan_create(user=property_head, year=2027, port="property", satisfaction_target=0.85)
    services.plan_submit(plan=plan, user=property_head)
    services.plan_approve(plan=plan, user=manager)
    mail.outbox.clear()
    errors = _console_errors(page)

    login(page, manager)
    page.goto(f"{page.base_url}/plans/{plan.pk}/")
    page.get_by_role("link", name="新增行动项或研究课题").click()
    page.get_by_label("类型").select_option("research")
    page.get_by_label("名称").fill("车位紧张的成因研究")
    page.get_by_label("措施类别").select_option("customer_care")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(f"**/plans/{plan.pk}/")
    assert "车位紧张的成因研究" in page.inner_text("body")
    screenshot(page, "issue14b-approved-plan-item")
    item = ActionItem.objects.get()
    assert (item.plan_id, item.kind) == (plan.pk, "research")
    plan = ImprovementPlan.objects.get(pk=plan.pk)
    assert plan.status == "approved"
    assert plan.history.first().history_change_reason.startswith("执行期间新增研究课题")
    assert [m.to for m in mail.outbox] == [["m2@example.com"]]
    assert errors == []
