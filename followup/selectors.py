"""Reads of the follow-up tickets and who may see or work them (the one place that decides it).

Seeing follows the port (``departments.selectors.ports_visible_to``: a head sees the ports their department owns
or monitors). Working — assigning, notes, status — belongs to the responsible department (its head and members),
the ticket's assignee and brand-service staff; management and the committee read, and hear of escalations.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404

from departments.models import Department, Role
from departments.selectors import ports_visible_to, user_has_role, user_may_enter_data
from followup.models import CLOCK_STATUSES, OPEN_STATUSES, Escalation, Ticket


def tickets_visible_to(*, user) -> QuerySet[Ticket]:
    if not user.is_authenticated:
        return Ticket.objects.none()
    return Ticket.objects.filter(Q(port__in=ports_visible_to(user)) | Q(assignee=user)).select_related(
        "project", "owner", "assignee", "department", "rule", "feedback"
    )


def ticket_get_for_user(*, user, pk: int) -> Ticket:
    ticket = tickets_visible_to(user=user).filter(pk=pk).first()
    if ticket is None:
        raise Http404("没有这张工单，或无权查看")
    return ticket


def user_may_work_ticket(user, ticket: Ticket) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user_may_enter_data(user) or ticket.assignee_id == user.pk:
        return True
    return Department.objects.filter(pk=ticket.department_id, memberships__user=user).exists()


def ticket_assignable_users(*, ticket: Ticket):
    """The responsible department's members (its head included), active ones only."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__department_id=ticket.department_id)
        .order_by("username")
        .distinct()
    )


def department_heads(*, department_id: int):
    return get_user_model().objects.filter(
        is_active=True, memberships__department_id=department_id, memberships__is_head=True
    ).order_by("username")


def management_users():
    return get_user_model().objects.filter(is_active=True, groups__name=Role.MANAGEMENT).order_by("username")


def ticket_list(*, user, status: str = "", port: str = "", mine: bool = False, overdue_at: datetime | None = None,
                unassigned: bool = False) -> QuerySet[Ticket]:
    qs = tickets_visible_to(user=user)
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status:
        qs = qs.filter(status=status)
    if port:
        qs = qs.filter(port=port)
    if mine:
        qs = qs.filter(assignee=user)
    if overdue_at is not None:
        qs = qs.filter(status__in=CLOCK_STATUSES, due_at__lt=overdue_at)
    if unassigned:
        qs = qs.filter(assignee__isnull=True, status__in=OPEN_STATUSES)
    return qs.order_by("due_at", "id")


def tickets_of_departments_headed_by(*, user) -> QuerySet[Ticket]:
    """Open tickets of the departments this user heads (a head's own queue)."""
    if not user_has_role(user, Role.DEPARTMENT_HEAD):
        return Ticket.objects.none()
    return Ticket.objects.filter(
        status__in=OPEN_STATUSES, department__memberships__user=user, department__memberships__is_head=True
    ).select_related("project", "owner", "assignee").order_by("due_at", "id")


def tickets_escalated_to_management() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=CLOCK_STATUSES, escalation=Escalation.MANAGEMENT).select_related(
        "project", "department"
    ).order_by("due_at", "id")


def tickets_unassigned() -> QuerySet[Ticket]:
    return Ticket.objects.filter(status__in=OPEN_STATUSES, assignee__isnull=True).order_by("due_at", "id")
