"""E-mail notices of tickets (``core.notifications``; each kind can be turned off per user), sent after commit."""

from __future__ import annotations

from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.notifications import notification_kind_register, notification_send

TICKET_OPENED = "ticket_opened"
TICKET_ASSIGNED = "ticket_assigned"
TICKET_ESCALATED = "ticket_escalated"


def register() -> None:
    notification_kind_register(TICKET_OPENED, _("新的跟进工单"), _("本部门有新的预警或客户反馈工单时"))
    notification_kind_register(TICKET_ASSIGNED, _("工单分派给我"), _("有人把跟进工单分派给您时"))
    notification_kind_register(TICKET_ESCALATED, _("工单逾期升级"), _("工单逾期升级到您（部门负责人或管理层）时"))


def _link(ticket_id: int) -> str:
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{reverse('followup:detail', args=[ticket_id])}"


def _lines(tickets) -> str:
    return "\n".join(
        f"#{t.pk} {t.get_port_display()} · {t.project.name} · {t.summary[:60]}\n  {_link(t.pk)}" for t in tickets
    )


def tickets_opened_on_commit(*, ticket_ids: list[int]) -> None:
    transaction.on_commit(lambda: tickets_opened_notify(ticket_ids=ticket_ids))


def tickets_opened_notify(*, ticket_ids: list[int]) -> None:
    """One message per department to its heads, listing the department's new tickets."""
    from followup.models import Ticket
    from followup.selectors import department_heads

    by_department = defaultdict(list)
    for ticket in Ticket.objects.filter(pk__in=ticket_ids).select_related("project").order_by("id"):
        by_department[ticket.department_id].append(ticket)
    for department_id, tickets in by_department.items():
        notification_send(
            users=department_heads(department_id=department_id),
            kind=TICKET_OPENED,
            subject=f"【新工单】{len(tickets)} 张跟进工单待处理",
            body=f"本部门有新的跟进工单，请分派处理：\n\n{_lines(tickets)}\n",
        )


def ticket_assigned_on_commit(*, ticket_id: int) -> None:
    transaction.on_commit(lambda: ticket_assigned_notify(ticket_id=ticket_id))


def ticket_assigned_notify(*, ticket_id: int) -> None:
    from followup.models import Ticket

    ticket = Ticket.objects.select_related("project", "assignee").get(pk=ticket_id)
    notification_send(
        users=[ticket.assignee],
        kind=TICKET_ASSIGNED,
        subject=f"【工单分派】#{ticket.pk} {ticket.project.name}",
        body=f"以下工单已分派给您，处理期限 {ticket.due_at:%Y-%m-%d %H:%M}：\n\n{_lines([ticket])}\n",
    )


def tickets_escalated_on_commit(*, head_ids: list[int], management_ids: list[int]) -> None:
    transaction.on_commit(lambda: tickets_escalated_notify(head_ids=head_ids, management_ids=management_ids))


def tickets_escalated_notify(*, head_ids: list[int], management_ids: list[int]) -> None:
    from followup.models import Ticket
    from followup.selectors import department_heads, management_users

    by_department = defaultdict(list)
    for ticket in Ticket.objects.filter(pk__in=head_ids).select_related("project").order_by("id"):
        by_department[ticket.department_id].append(ticket)
    for department_id, tickets in by_department.items():
        notification_send(
            users=department_heads(department_id=department_id),
            kind=TICKET_ESCALATED,
            subject=f"【工单逾期】{len(tickets)} 张工单已超过处理时限",
            body=f"以下工单已逾期，请尽快处理：\n\n{_lines(tickets)}\n",
        )
    if management_ids:
        tickets = list(Ticket.objects.filter(pk__in=management_ids).select_related("project").order_by("id"))
        notification_send(
            users=management_users(),
            kind=TICKET_ESCALATED,
            subject=f"【工单升级】{len(tickets)} 张逾期工单升级至管理层",
            body=f"以下工单逾期后仍未处理，已升级至管理层：\n\n{_lines(tickets)}\n",
        )
