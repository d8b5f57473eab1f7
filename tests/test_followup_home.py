"""Each role's to-do list on the home page: what waits for the user, each entry linking to where it is done;
the plan list says 已退回 for a returned plan."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from departments.models import Department
from followup.models import Escalation, Ticket, TicketSource
from improvement_plans import services as plans
from improvement_plans.models import ActionItem
from owners.models import Project
from surveys.models import ImportJob
from surveys.services import survey_create

pytestmark = pytest.mark.django_db


def ticket(port: str, *, hours_left: float, **extra) -> Ticket:
    project, _ = Project.objects.get_or_create(code="P1", defaults={"name": "翠湖花园"})
    now = timezone.now()
    return Ticket.objects.create(
        source=TicketSource.ALERT, port=port, department=Department.objects.get(owned_ports__code=port),
        project=project, summary=f"{port} 低分", opened_at=now - timedelta(hours=48),
        due_at=now + timedelta(hours=hours_left), **extra,
    )


def todo(client, user) -> dict[str, list[str]]:
    """The home page's to-do entries by kind: their links."""
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    found: dict[str, list[str]] = {}
    for kind, href in re.findall(r'class="list-group-item px-0 todo-(\w+)">\s*(?:<span[^>]*>[^<]*</span>)?\s*<a href="([^"]+)"', html):
        found.setdefault(kind, []).append(href.replace("&amp;", "&"))
    return found


def test_staff_see_waves_to_close_failed_imports_and_unassigned_tickets(client, staff):
    today = timezone.localdate()
    ended = survey_create(code="ended", name="一季度触点", starts_on=today - timedelta(days=60), ends_on=today - timedelta(days=1))
    survey_create(code="running", name="进行中", starts_on=today - timedelta(days=5), ends_on=today + timedelta(days=5))
    job = ImportJob.objects.create(file_name="bad.xlsx", sha256="x", status=ImportJob.Status.FAILED, created_by=staff)
    ImportJob.objects.create(file_name="good.xlsx", sha256="y", status=ImportJob.Status.SUCCEEDED, created_by=staff)
    ticket("property", hours_left=10)
    ticket("engineering", hours_left=10, assignee=staff)
    entries = todo(client, staff)
    assert entries["waves_to_close"] == [reverse("surveys:wave", args=[ended.code])]
    assert entries["imports_failed"] == [reverse("surveys:import_job", args=[job.pk])]
    assert entries["tickets_unassigned"] == [f"{reverse('followup:list')}?status=open&view=unassigned"]
    assert "plans_awaiting_approval" not in entries and "tickets_open" not in entries


def test_a_head_sees_their_ports_open_and_overdue_tickets_only(client, property_head):
    late = ticket("property", hours_left=-1)
    fresh = ticket("property", hours_left=5)
    ticket("engineering", hours_left=-1)
    ticket("property", hours_left=-5, status="closed")
    entries = todo(client, property_head)
    assert entries["tickets_overdue"] == [reverse("followup:detail", args=[late.pk])]
    assert entries["tickets_open"] == [reverse("followup:detail", args=[fresh.pk])]


def test_a_returned_plan_shows_on_the_heads_home_with_the_comment_and_as_returned_in_the_list(
    client, property_head, manager
):
    plan = plans.plan_create(user=property_head, year=2027, port="property", satisfaction_target=0.85)
    plans.plan_submit(plan=plan, user=property_head)
    assert todo(client, manager)["plans_awaiting_approval"] == [reverse("plans:plan_detail", args=[plan.pk])]
    plans.plan_return(plan=plan, user=manager, comment="目标偏低，请参考集团平均")
    assert "plans_awaiting_approval" not in todo(client, manager)
    assert todo(client, property_head)["plans_returned"] == [reverse("plans:plan_detail", args=[plan.pk])]
    client.force_login(property_head)
    home = client.get(reverse("home")).content.decode()
    assert "目标偏低，请参考集团平均" in home
    listing = client.get(reverse("plans:plan_list") + "?year=2027").content.decode()
    assert "已退回" in listing and "目标偏低" in listing
    plans.plan_submit(plan=plan, user=property_head)
    assert "plans_returned" not in todo(client, property_head)
    assert "已退回" not in client.get(reverse("plans:plan_list") + "?year=2027").content.decode()


def test_a_head_sees_action_items_due_within_two_weeks_or_overdue(client, property_head, manager):
    plan = plans.plan_create(user=property_head, year=2026, port="property", satisfaction_target=0.85)
    today = timezone.localdate()
    soon = ActionItem.objects.create(plan=plan, title="保洁频次", measure_category="frontline_quality",
                                     due_on=today + timedelta(days=14))
    ActionItem.objects.create(plan=plan, title="远期", measure_category="frontline_quality", due_on=today + timedelta(days=15))
    ActionItem.objects.create(plan=plan, title="已完成", measure_category="frontline_quality", due_on=today, status="done")
    assert todo(client, property_head)["action_items_due"] == [reverse("plans:action_item_detail", args=[soon.pk])]


def test_management_sees_escalated_tickets(client, manager, property_head):
    up = ticket("property", hours_left=-30, escalation=Escalation.MANAGEMENT)
    ticket("property", hours_left=-1, escalation=Escalation.HEAD)
    assert todo(client, manager)["escalations"] == [reverse("followup:detail", args=[up.pk])]
    assert "escalations" not in todo(client, property_head)


def test_every_todo_link_opens_for_its_user(client, staff, property_head, manager):
    today = timezone.localdate()
    survey_create(code="ended", name="已结束", starts_on=today - timedelta(days=9), ends_on=today - timedelta(days=1))
    ticket("property", hours_left=-1)
    ticket("property", hours_left=-40, escalation=Escalation.MANAGEMENT)
    for user in (staff, property_head, manager):
        entries = todo(client, user)
        assert entries, user
        for links in entries.values():
            for link in links:
                assert client.get(link).status_code == 200, (user, link)


def test_a_user_without_a_role_has_no_todo(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x")
    assert todo(client, user) == {}


def test_the_morning_digest_mails_each_user_their_list_unless_turned_off(staff, property_head, manager,
                                                                         django_capture_on_commit_callbacks):
    from django.core import mail

    from core.notifications import notification_set
    from dashboards.tasks import todo_digest_task

    for user, address in ((staff, "staff@example.com"), (property_head, "head@example.com"),
                          (manager, "boss@example.com")):
        user.email = address
        user.save()
    late = ticket("property", hours_left=-30, escalation=Escalation.MANAGEMENT)
    notification_set(user=manager, kind="todo_digest", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert todo_digest_task() == 3  # three lists; the manager turned the digest off
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"staff@example.com", "head@example.com"}
    assert reverse("followup:detail", args=[late.pk]) in by_address["head@example.com"].body
    assert "未分派" in by_address["staff@example.com"].body


def test_staff_see_callbacks_due_linking_to_the_callback_list(client, staff):
    from owners.models import Owner

    project = Project.objects.create(code="P9", name="和园")
    # The seeded rules call run-in owners at 3, 6 and 12 months (± 15 days): this owner is due today.
    Owner.objects.create(project=project, unit="1-1-101", name="赵六",
                         move_in_date=timezone.localdate() - timedelta(days=91))
    assert todo(client, staff)["callbacks_due"] == [reverse("feedback:callbacks")]
