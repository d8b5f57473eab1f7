"""Follow-up tickets: the state × role matrix, the SLA and escalation clock (frozen time), feedback records as
tickets, the logged phone reveal and the e-mail notices."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from departments.models import Department, Membership
from feedback.models import Feedback, FeedbackStatus
from feedback.services import feedback_create, feedback_update
from followup import tasks
from followup.models import Escalation, PortSla, Ticket, TicketNote, TicketSource, TicketStatus
from followup.services import TRANSITIONS, ticket_assign, ticket_note_add, ticket_transition, tickets_escalate
from owners.models import Owner, PhoneAccessLog, Project
from tests.conftest import make_user

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园")


@pytest.fixture
def owner(project):
    return Owner.objects.create(project=project, unit="3-2-1502", name="李雷", phone="13812345678",
                                move_in_date=date(2024, 1, 1))


def open_ticket(port: str, project, owner=None, *, status=TicketStatus.NEW, now=T0, **extra) -> Ticket:
    department = Department.objects.get(owned_ports__code=port)
    sla = PortSla.objects.get(port=port)
    if status == TicketStatus.UNRESOLVED:
        extra.setdefault("unresolved_reason", "业主失联")
    return Ticket.objects.create(
        source=TicketSource.ALERT, port=port, department=department, project=project, owner=owner,
        summary="总体满意度 1 分", status=status, opened_at=now, due_at=now + timedelta(hours=sla.due_hours), **extra,
    )


# --- States ------------------------------------------------------------------------------------------------------------


ALL = list(TicketStatus.values)


@pytest.mark.parametrize("start", ALL)
@pytest.mark.parametrize("target", ALL)
def test_each_status_moves_only_along_the_workflow(start, target, project, staff):
    ticket = open_ticket("property", project, status=start)
    allowed = target in TRANSITIONS[start]
    expected = {
        "new": {"in_progress", "unresolved"}, "in_progress": {"called_back", "unresolved"},
        "called_back": {"closed", "in_progress", "unresolved"}, "closed": set(), "unresolved": set(),
    }[start]
    assert allowed is (target in expected)
    if allowed:
        ticket = ticket_transition(ticket=ticket, status=target, by=staff, now=T0, reason="业主拒绝沟通")
        assert ticket.status == target
        assert (ticket.closed_at == T0) is (target in ("closed", "unresolved"))
    else:
        with pytest.raises(ValidationError):
            ticket_transition(ticket=ticket, status=target, by=staff, now=T0, reason="x")
        ticket.refresh_from_db()
        assert ticket.status == start


def test_unresolved_needs_a_reason_and_keeps_it(project, staff):
    ticket = open_ticket("property", project)
    with pytest.raises(ValidationError) as refused:
        ticket_transition(ticket=ticket, status="unresolved", by=staff, now=T0, reason="  ")
    assert refused.value.message_dict == {"reason": ["标记为无法解决时必须填写原因"]}
    ticket = ticket_transition(ticket=ticket, status="unresolved", by=staff, now=T0, reason="属于市政管网问题")
    assert ticket.unresolved_reason == "属于市政管网问题"
    assert TicketNote.objects.get(ticket=ticket).text == "无法解决：属于市政管网问题"


def test_assigning_a_new_ticket_puts_it_in_progress_and_only_department_members_can_take_it(
    project, property_head, engineering_head, staff
):
    member = make_user("property_clerk", department="property")
    ticket = open_ticket("property", project)
    with pytest.raises(ValidationError):
        ticket_assign(ticket=ticket, assignee=engineering_head, by=property_head, now=T0)
    ticket = ticket_assign(ticket=ticket, assignee=member, by=property_head, now=T0)
    assert (ticket.assignee, ticket.status) == (member, "in_progress")
    assert ticket.history.first().history_change_reason.startswith("分派给")


# --- Roles: who sees a ticket, who works it ---------------------------------------------------------------------------

# (user fixture, property ticket: detail status, note status), (design ticket: detail, note)
MATRIX = [
    ("staff", (200, 302), (200, 302)),
    ("property_head", (200, 302), (404, 404)),
    ("engineering_head", (404, 404), (200, 403)),  # engineering monitors design: reads it, does not work it
    ("marketing_head", (404, 404), (404, 404)),
    ("manager", (200, 403), (200, 403)),
    ("committee_member", (200, 403), (200, 403)),
]


@pytest.mark.parametrize(("persona", "on_property", "on_design"), MATRIX)
def test_a_head_works_only_their_ports_tickets_and_others_get_403_or_404(
    persona, on_property, on_design, request, client, project
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    for port, (view_status, note_status) in (("property", on_property), ("design", on_design)):
        ticket = open_ticket(port, project)
        assert client.get(reverse("followup:detail", args=[ticket.pk])).status_code == view_status, port
        response = client.post(reverse("followup:note", args=[ticket.pk]), {"text": "已电话联系"})
        assert response.status_code == note_status, port
        for action, data in (("assign", {"assignee": user.pk}), ("status", {"status": "in_progress"})):
            status = client.post(reverse(f"followup:{action}", args=[ticket.pk]), data).status_code
            if note_status == 302:
                assert status in (302, 400)
            else:
                assert status == note_status, (port, action)
        assert TicketNote.objects.filter(ticket=ticket).exists() is (note_status == 302)


def test_a_department_member_sees_the_ticket_assigned_to_them_and_works_it(client, project):
    member = make_user("property_clerk", department="property")
    ticket = open_ticket("property", project)
    client.force_login(member)
    assert client.get(reverse("followup:detail", args=[ticket.pk])).status_code == 404
    ticket.assignee = member
    ticket.save(update_fields=["assignee"])
    assert client.get(reverse("followup:detail", args=[ticket.pk])).status_code == 200
    assert client.post(reverse("followup:note", args=[ticket.pk]), {"text": "约好周六上门"}).status_code == 302


def test_the_services_refuse_a_user_outside_the_department(project, engineering_head, manager):
    ticket = open_ticket("property", project)
    for user in (engineering_head, manager):
        with pytest.raises(PermissionDenied):
            ticket_note_add(ticket=ticket, text="x", by=user, now=T0)
        with pytest.raises(PermissionDenied):
            ticket_transition(ticket=ticket, status="in_progress", by=user, now=T0)


def test_a_refused_form_keeps_what_was_typed_with_a_chinese_message(client, project, property_head):
    ticket = open_ticket("property", project)
    client.force_login(property_head)
    response = client.post(reverse("followup:status", args=[ticket.pk]), {"status": "unresolved", "reason": ""})
    assert response.status_code == 400
    assert "标记为无法解决时必须填写原因" in response.content.decode()
    response = client.post(reverse("followup:status", args=[ticket.pk]), {"status": "closed"})
    assert response.status_code == 400 and "请选择" in response.content.decode()


def test_the_list_shows_a_head_only_their_ports_tickets(client, project, property_head):
    mine = open_ticket("property", project)
    other = open_ticket("engineering", project)
    client.force_login(property_head)
    html = client.get(reverse("followup:list")).content.decode()
    assert reverse("followup:detail", args=[mine.pk]) in html
    assert reverse("followup:detail", args=[other.pk]) not in html


# --- The owner's contact: only through the logged reveal ------------------------------------------------------------


def test_the_phone_is_masked_and_revealed_only_through_the_logged_reveal(client, project, owner, staff, property_head):
    ticket = open_ticket("property", project, owner)
    client.force_login(property_head)
    html = client.get(reverse("followup:detail", args=[ticket.pk])).content.decode()
    assert "138****5678" in html and "13812345678" not in html and "reveal-phone" not in html
    assert client.post(reverse("followup:phone", args=[ticket.pk])).status_code == 403
    client.force_login(staff)
    assert "13812345678" not in client.get(reverse("followup:detail", args=[ticket.pk])).content.decode()
    html = client.post(reverse("followup:phone", args=[ticket.pk])).content.decode()
    assert 'href="tel:13812345678"' in html
    log = PhoneAccessLog.objects.get()
    assert (log.user, log.owner, log.where) == (staff, owner, f"跟进工单 #{ticket.pk}")


# --- The SLA clock, frozen ----------------------------------------------------------------------------------------------


def test_an_overdue_ticket_goes_to_the_head_then_to_management_each_once(
    project, property_head, manager, django_capture_on_commit_callbacks
):
    property_head.email, manager.email = "head@example.com", "boss@example.com"
    property_head.save(), manager.save()
    ticket = open_ticket("property", project)  # 48 h, then 24 h more
    due = T0 + timedelta(hours=48)
    assert ticket.due_at == due

    def run(at):
        with django_capture_on_commit_callbacks(execute=True):
            return tickets_escalate(now=at)

    assert run(due) == {"head": [], "management": []}  # exactly at the due time: not yet overdue
    assert run(due + timedelta(seconds=1)) == {"head": [ticket.pk], "management": []}
    assert [m.to for m in mail.outbox] == [["head@example.com"]] and "逾期" in mail.outbox[0].subject
    assert run(due + timedelta(hours=1)) == {"head": [], "management": []}
    assert run(due + timedelta(hours=24)) == {"head": [], "management": []}  # 24 h after due: still the head's
    assert run(due + timedelta(hours=24, seconds=1)) == {"head": [], "management": [ticket.pk]}
    assert mail.outbox[-1].to == ["boss@example.com"] and "管理层" in mail.outbox[-1].subject
    assert run(due + timedelta(days=30)) == {"head": [], "management": []}
    ticket.refresh_from_db()
    assert (ticket.escalation, ticket.escalated_at) == (Escalation.MANAGEMENT, due + timedelta(hours=24, seconds=1))


def test_a_ticket_called_back_or_closed_in_time_never_escalates(project, staff):
    called = open_ticket("property", project, status=TicketStatus.CALLED_BACK)
    closed = open_ticket("property", project, status=TicketStatus.CLOSED)
    working = open_ticket("property", project, status=TicketStatus.IN_PROGRESS)
    moved = tickets_escalate(now=T0 + timedelta(days=10))
    assert moved["head"] == [working.pk]
    assert Ticket.objects.get(pk=called.pk).escalation == Ticket.objects.get(pk=closed.pk).escalation == 0


def test_the_beat_task_reads_the_clock_once_and_uses_the_ports_own_sla(project, monkeypatch):
    PortSla.objects.filter(port="engineering").update(due_hours=8, management_after_hours=4)
    quick = open_ticket("engineering", project)
    slow = open_ticket("property", project)
    monkeypatch.setattr(tasks.timezone, "now", lambda: T0 + timedelta(hours=9))
    assert tasks.tickets_escalate_task() == {"head": [quick.pk], "management": []}
    monkeypatch.setattr(tasks.timezone, "now", lambda: T0 + timedelta(hours=12, seconds=1))
    assert tasks.tickets_escalate_task() == {"head": [], "management": [quick.pk]}
    assert Ticket.objects.get(pk=slow.pk).escalation == Escalation.NONE


def test_the_sla_page_is_for_staff_and_refuses_a_bad_value_in_chinese(client, staff, property_head):
    client.force_login(property_head)
    assert client.get(reverse("followup:settings")).status_code == 403
    client.force_login(staff)
    data = {f"{p}-due_hours": "48" for p in ("design", "engineering", "sales", "service", "property")}
    data |= {f"{p}-management_after_hours": "24" for p in ("design", "engineering", "sales", "service", "property")}
    response = client.post(reverse("followup:settings"), data | {"property-due_hours": "0"})
    assert "处理时限至少 1 小时" in response.content.decode()
    assert PortSla.objects.get(port="property").due_hours == 48
    assert client.post(reverse("followup:settings"), data | {"property-due_hours": "12"}).status_code == 302
    assert PortSla.objects.get(port="property").due_hours == 12


# --- Feedback records become tickets -------------------------------------------------------------------------------------


def complaint(project, owner=None, **extra):
    return feedback_create(**({"kind": "complaint", "project": project, "port": "property",
                               "received_on": date(2026, 5, 1), "description": "电梯经常停运", "owner": owner} | extra))


def test_a_feedback_record_becomes_a_ticket_the_ports_head_works_and_closing_it_closes_the_record(
    project, owner, property_head, django_capture_on_commit_callbacks
):
    property_head.email = "head@example.com"
    property_head.save()
    with django_capture_on_commit_callbacks(execute=True):
        feedback = complaint(project, owner)
    ticket = feedback.ticket
    assert (ticket.source, ticket.port, ticket.department.code, ticket.owner) == ("feedback", "property", "property", owner)
    assert mail.outbox[0].to == ["head@example.com"] and "新工单" in mail.outbox[0].subject
    ticket = ticket_assign(ticket=ticket, assignee=property_head, by=property_head, now=T0)
    assert Feedback.objects.get(pk=feedback.pk).status == FeedbackStatus.IN_PROGRESS
    ticket = ticket_transition(ticket=ticket, status="called_back", by=property_head, now=T0)
    ticket_transition(ticket=ticket, status="closed", by=property_head, now=T0 + timedelta(days=1))
    feedback.refresh_from_db()
    assert (feedback.status, feedback.closed_on) == (FeedbackStatus.CLOSED, date(2026, 5, 5))
    assert Ticket.objects.count() == 1


def test_a_record_moved_to_another_port_moves_its_ticket_and_one_closed_elsewhere_closes_it(project, property_head):
    feedback = complaint(project)
    ticket_assign(ticket=feedback.ticket, assignee=property_head, by=property_head, now=T0)
    fields = {"kind": "complaint", "project": project, "received_on": date(2026, 5, 1), "description": "电梯经常停运"}
    feedback_update(feedback=feedback, port="engineering", **fields)
    ticket = Ticket.objects.get(feedback=feedback)
    assert (ticket.port, ticket.department.code, ticket.assignee) == ("engineering", "engineering", None)
    feedback_update(feedback=feedback, port="engineering", status="closed", closed_on=date(2026, 5, 2), **fields)
    assert Ticket.objects.get(feedback=feedback).status == TicketStatus.CLOSED


def test_a_record_entered_already_closed_opens_no_ticket(project):
    complaint(project, status="closed", closed_on=date(2026, 5, 2))
    assert not Ticket.objects.exists()


def test_an_imported_feedback_file_opens_one_ticket_per_record_and_again_none(project, staff):
    from feedback.importing import feedback_import

    rows = [
        "reference,kind,project_code,port,received_on,status,closed_on,description",
        "F1,complaint,P1,property,2026-05-01,,,电梯停运",
        "F2,repair,P1,engineering,2026-05-02,,,卫生间渗水",
        "F3,acceptance,P1,engineering,2026-05-02,closed,2026-05-03,入户门划痕",
    ]
    data = "\n".join(rows).encode()
    first = feedback_import(data=data, file_name="f.csv", created_by=staff)
    assert first.ok and first.created, first.errors
    count = Ticket.objects.count()
    assert count == Feedback.objects.exclude(status="closed").count() == 2
    feedback_import(data=data, file_name="f.csv", created_by=staff)
    assert Ticket.objects.count() == count
    assert set(Ticket.objects.values_list("feedback__reference", flat=True)) == set(
        Feedback.objects.exclude(status="closed").values_list("reference", flat=True)
    )


def test_a_notice_can_be_turned_off_per_user(project, property_head, django_capture_on_commit_callbacks):
    from core.notifications import notification_set

    property_head.email = "head@example.com"
    property_head.save()
    notification_set(user=property_head, kind="ticket_opened", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        complaint(project)
    assert mail.outbox == []
    assert Membership.objects.filter(user=property_head, is_head=True).exists()


def test_the_backfill_command_opens_tickets_for_open_records_once(project):
    from django.core.management import call_command

    complaint(project)
    Ticket.objects.all().delete()  # as if recorded before tickets existed
    complaint(project, status="closed", closed_on=date(2026, 5, 2))
    call_command("tickets_from_feedback")
    call_command("tickets_from_feedback")
    assert list(Ticket.objects.values_list("feedback__status", flat=True)) == ["open"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [({"threshold": "5"}, "threshold", "低分阈值必须在 1–4 之间"),
     ({"kind": "keyword", "keywords": " "}, "keywords", "关键词规则至少要有一个关键词"),
     ({"name": ""}, "name", "请填写名称")],
)
def test_a_bad_rule_is_refused_in_chinese_keeping_the_input(client, staff, fields, field, message):
    client.force_login(staff)
    data = {"name": "物业低分", "kind": "port_low", "threshold": "2", "keywords": "", "port": "property",
            "is_active": "on"} | fields
    html = client.post(reverse("followup:rule_new"), data).content.decode()
    assert message in html and "is-invalid" in html
    assert not Ticket.objects.exists()


def test_staff_add_a_rule_for_one_series(client, staff):
    from followup.models import AlertRule
    from surveys.models import SurveySeries

    series = SurveySeries.objects.order_by("id").first()
    client.force_login(staff)
    response = client.post(reverse("followup:rule_new"), {"name": "交付触点低分", "kind": "headline_low", "threshold": "3",
                                                          "series": series.pk, "port": "engineering", "is_active": "on"})
    assert response.status_code == 302
    rule = AlertRule.objects.get(name="交付触点低分")
    assert (rule.series, rule.threshold, rule.port) == (series, 3, "engineering")
    assert "交付触点低分" in client.get(reverse("followup:settings")).content.decode()


def test_the_feedback_page_links_to_its_ticket(client, project, property_head):
    feedback = complaint(project)
    client.force_login(property_head)
    html = client.get(reverse("feedback:detail", args=[feedback.pk])).content.decode()
    assert f'href="{reverse("followup:detail", args=[feedback.ticket.pk])}" id="feedback-ticket"' in html
    closed = complaint(project, status="closed", closed_on=date(2026, 5, 2))
    assert "feedback-ticket" not in client.get(reverse("feedback:detail", args=[closed.pk])).content.decode()


def test_the_beat_runs_the_escalation_the_sweep_and_the_digest_and_alert_runs_survive_a_lost_worker(settings):
    import dashboards.tasks
    import followup.tasks
    from config.celery import app

    assert dashboards.tasks and followup.tasks  # what the worker's autodiscovery imports
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    expected = {"followup.tasks.tickets_escalate_task", "followup.tasks.alerts_sweep", "dashboards.tasks.todo_digest_task"}
    assert expected <= scheduled and expected <= set(app.tasks)
    task = app.tasks["followup.tasks.alerts_run_task"]
    assert task.acks_late and task.reject_on_worker_lost and task.max_retries == 5
