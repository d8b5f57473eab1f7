"""In the browser: staff send SMS invitations to a project and set reminders from the wave's page and see the
record with masked numbers; an owner on a phone (JavaScript off) comes in through the project's notice-board link
with unit and the last four digits of their phone and lands on their own questionnaire."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from online import messaging
from online.models import OutboundMessage, ReminderPolicy, SurveyInvitation
from online.project_links import project_link_for
from owners.models import Owner, Project
from surveys.services import survey_create
from tests.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, java_script_enabled=False,
                                  is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(15000)
    yield phone
    context.close()


def test_staff_send_invitations_and_an_owner_comes_in_through_the_project_link(page, phone, staff, live_server,
                                                                               settings):
    settings.SMS_BACKEND = "locmem"
    messaging.outbox.clear()
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))
    project = Project.objects.create(code="HY", name="和园")
    survey.target_projects.add(project)
    zhang = Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678")
    Owner.objects.create(project=project, unit="3-2-1503", name="李四", phone="13900001111")

    login(page, staff)
    page.goto(f"{live_server.url}/online/waves/2026-annual/invitations/")
    page.click("#messaging-link")
    page.check("input[name=send-scope][value=project]")
    page.select_option("#id_send-project", str(project.pk))
    page.select_option("#id_send-channel", "sms")
    page.click("#send-form button[type=submit]")
    assert "已排队发送 2 条邀请" in page.inner_text("main")
    table = page.inner_text("#message-list")
    assert "138****5678" in table and "13812345678" not in table
    assert OutboundMessage.objects.count() == 2

    page.check("#id_policy-enabled")
    page.fill("#id_policy-first_after_days", "2")
    page.fill("#id_policy-interval_days", "0")
    page.click("#policy-form button[type=submit]")
    assert "提醒间隔为 1–60 天" in page.inner_text("#policy-form")
    page.fill("#id_policy-interval_days", "3")
    page.click("#policy-form button[type=submit]")
    assert "提醒计划已保存" in page.inner_text("main")
    policy = ReminderPolicy.objects.get(survey=survey)
    assert (policy.enabled, policy.first_after_days, policy.interval_days) == (True, 2, 3)
    screenshot(page, "online-messaging-staff")

    link = project_link_for(survey=survey, project=project, now=datetime(2026, 12, 1, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    phone.goto(f"{live_server.url}/o/p/{link.token}/")
    phone.fill("#id_unit", "3-2-1502")
    phone.fill("#id_last_four", "0000")
    phone.click("#project-link-form button[type=submit]")
    assert "房号或手机号后四位不正确" in phone.inner_text("main")
    assert phone.input_value("#id_unit") == "3-2-1502"
    screenshot(phone, "online-project-link-phone")
    phone.fill("#id_last_four", "5678")
    phone.click("#project-link-form button[type=submit]")
    invitation = SurveyInvitation.objects.get(survey=survey, owner=zhang)
    assert phone.url == f"{live_server.url}/o/{invitation.token}/"
