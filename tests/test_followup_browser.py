"""The follow-up journey in headless Chromium: a keyed 1/1/1 response opens a ticket that the property head
sees on the home page, assigns, notes and closes."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from followup.models import Ticket, TicketNote
from owners.models import Owner, Project
from surveys.services import survey_create
from tests.conftest import login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_keyed_1_1_1_response_becomes_a_ticket_the_property_head_works_to_the_end(page, staff, property_head):
    survey = survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 1, 1))
    project = Project.objects.create(code="HY", name="和园")
    Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678",
                         move_in_date=timezone.localdate() - timedelta(days=400))
    clerk = make_user("property_clerk", department="property", first_name="刘洋")

    login(page, staff)
    page.goto(f"{page.base_url}/surveys/entry/?survey={survey.code}")
    page.keyboard.type("1502")
    page.wait_for_selector("#owner-results a.owner-result")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector("#entry-form")
    page.keyboard.type("Q-0001")
    page.keyboard.press("Enter")
    for key in "111":
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    page.wait_for_selector(".alert-success")

    ticket = Ticket.objects.get()
    assert (ticket.port, ticket.status, ticket.owner.unit) == ("property", "new", "3-2-1502")

    page.context.clear_cookies()
    login(page, property_head)
    page.goto(f"{page.base_url}/")
    entry = page.locator("#todo .todo-tickets_open a")
    assert f"#{ticket.pk}" in entry.inner_text() and "总体满意度 1 分" in entry.inner_text()
    screenshot(page, "followup-home-todo")
    entry.click()
    page.wait_for_selector("#assign-form")
    assert "138****5678" in page.inner_text("#ticket-owner") and "13812345678" not in page.content()

    page.select_option("#id_assignee", label="刘洋")
    page.click("#assign-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#ticket-assignee") == "刘洋" and page.inner_text("#ticket-status") == "处理中"

    page.fill("#id_text", "已电话联系业主，约定周六上门查看")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector("#ticket-notes >> text=约定周六上门查看")

    page.select_option("#id_status", label="已回访")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#ticket-status >> text=已回访")
    page.select_option("#id_status", label="关闭")
    page.click("#status-form button[type=submit]")
    page.wait_for_selector("#ticket-status >> text=关闭")
    screenshot(page, "followup-ticket-closed")
    assert page.locator("#status-form").count() == 0  # a closed ticket takes no more changes

    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.closed_at is not None) == ("closed", clerk, True)
    assert TicketNote.objects.get(ticket=ticket).author == property_head
    page.goto(f"{page.base_url}/")
    assert page.locator("#todo .todo-tickets_open").count() == 0


def test_staff_pick_the_owner_of_a_complaint_from_the_roster_and_the_ticket_reaches_them(page, staff):
    from feedback.models import Feedback

    project = Project.objects.create(code="HY", name="和园")
    Project.objects.create(code="JX", name="锦绣城")
    owner = Owner.objects.create(project=project, unit="3-2-1502", name="张三", phone="13812345678")
    login(page, staff)
    page.goto(f"{page.base_url}/feedback/new/")
    page.select_option("#id_port", "property")
    page.fill("#id_description", "电梯经常停运")
    page.click("#id_owner_name")
    page.keyboard.type("5678")  # the phone's last digits, as keyed entry searches
    page.wait_for_selector("#owner-picker-results .owner-pick")
    assert "138****5678" in page.inner_text("#owner-picker-results")
    page.click("#owner-picker-results .owner-pick")
    assert page.input_value("#id_unit") == "3-2-1502" and page.input_value("#id_project") == str(project.pk)
    page.click("#feedback-form button[name=save]")
    page.wait_for_selector(".alert-success")
    feedback = Feedback.objects.get()
    assert (feedback.owner, feedback.ticket.owner, feedback.ticket.port) == (owner, owner, "property")
