"""Each role's to-do list on the home page: what waits for this user, each entry linking to where it is done.

Brand-service staff: waves past their end still open, imports that failed, callbacks due, tickets nobody has
taken. A department head: their departments' open and overdue tickets, plans returned to them (with the
comment), action items due. Management: plans awaiting approval, tickets escalated to management.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.notifications import notification_kind_register, notification_send
from departments.selectors import ports_owned_by, user_may_enter_data
from feedback.selectors import callback_due_list
from followup.selectors import (
    tickets_escalated_to_management,
    tickets_of_departments_headed_by,
    tickets_unassigned,
)
from improvement_plans.selectors import action_items_due, plans_awaiting_review, plans_returned, user_is_management
from surveys.models import ImportJob, Survey

FAILED_IMPORTS_DAYS = 7
CALLBACKS_DUE_CACHE_SECONDS = 300
SHOWN = 5  # entries listed one by one per kind; more are counted and linked


@dataclass(frozen=True)
class TodoEntry:
    kind: str  # a stable code, for tests and CSS: waves_to_close, imports_failed, …
    text: str
    url: str
    detail: str = ""
    urgent: bool = False


def _ticket_list_url(**params) -> str:
    return f"{reverse('followup:list')}?{urlencode(params)}"


def todo_for_staff(*, today: date, now: datetime) -> list[TodoEntry]:
    entries = []
    for survey in Survey.objects.filter(closed_at__isnull=True, ends_on__lt=today).order_by("ends_on", "id")[:SHOWN]:
        entries.append(TodoEntry("waves_to_close", f"调查“{survey.name}”已于 {survey.ends_on:%Y-%m-%d} 结束，尚未关闭",
                                 reverse("surveys:wave", args=[survey.code])))
    failed = ImportJob.objects.filter(
        status=ImportJob.Status.FAILED, created_at__gte=now - timedelta(days=FAILED_IMPORTS_DAYS)
    ).order_by("-created_at", "-id")
    for job in failed[:SHOWN]:
        entries.append(TodoEntry("imports_failed", f"导入“{job.file_name}”有错误，未写入",
                                 reverse("surveys:import_job", args=[job.pk]), urgent=True))
    # The due list walks the roster: counted once per few minutes, not on every home page view.
    due = cache.get_or_set(f"todo:callbacks-due:{today.isoformat()}", lambda: len(callback_due_list(today=today)),
                           CALLBACKS_DUE_CACHE_SECONDS)
    if due:
        entries.append(TodoEntry("callbacks_due", f"{due} 位业主到了回访时间", reverse("feedback:callbacks")))
    unassigned = tickets_unassigned().count()
    if unassigned:
        entries.append(TodoEntry("tickets_unassigned", f"{unassigned} 张跟进工单未分派",
                                 _ticket_list_url(status="open", view="unassigned"), urgent=True))
    return entries


def todo_for_head(*, user, today: date, now: datetime) -> list[TodoEntry]:
    entries = []
    tickets = tickets_of_departments_headed_by(user=user)
    overdue = [t for t in tickets if t.status in ("new", "in_progress") and t.due_at < now]
    for ticket in overdue[:SHOWN]:
        entries.append(TodoEntry("tickets_overdue", f"逾期工单 #{ticket.pk}：{ticket.project.name} {ticket.summary[:40]}",
                                 reverse("followup:detail", args=[ticket.pk]),
                                 detail=f"期限 {ticket.due_at:%Y-%m-%d %H:%M}", urgent=True))
    fresh = [t for t in tickets if t not in overdue]
    for ticket in fresh[:SHOWN]:
        who = ticket.assignee.get_full_name() or ticket.assignee.username if ticket.assignee else "未分派"
        entries.append(TodoEntry("tickets_open", f"工单 #{ticket.pk}（{ticket.get_status_display()}）：{ticket.project.name} "
                                 f"{ticket.summary[:40]}", reverse("followup:detail", args=[ticket.pk]), detail=who))
    more = len(tickets) - min(len(overdue), SHOWN) - min(len(fresh), SHOWN)
    if more > 0:
        entries.append(TodoEntry("tickets_open", f"另有 {more} 张未结束的工单", _ticket_list_url(status="open")))
    for plan in plans_returned(user=user):
        entries.append(TodoEntry("plans_returned", f"{plan.year} 年度{plan.scope_label}提升计划被退回修改",
                                 reverse("plans:plan_detail", args=[plan.pk]), detail=plan.last_comment or "",
                                 urgent=True))
    for item in action_items_due(user=user, today=today)[:SHOWN]:
        late = item.due_on < today
        entries.append(TodoEntry("action_items_due", f"行动项“{item.title}”{'已逾期' if late else '即将到期'}",
                                 reverse("plans:action_item_detail", args=[item.pk]),
                                 detail=f"期限 {item.due_on:%Y-%m-%d}", urgent=late))
    return entries


def todo_for_management(*, user) -> list[TodoEntry]:
    entries = [
        TodoEntry("plans_awaiting_approval", f"{plan.year} 年度{plan.scope_label}提升计划待审批",
                  reverse("plans:plan_detail", args=[plan.pk]))
        for plan in plans_awaiting_review(user=user)
    ]
    escalated = list(tickets_escalated_to_management()[: SHOWN + 1])
    for ticket in escalated[:SHOWN]:
        entries.append(TodoEntry("escalations", f"升级工单 #{ticket.pk}：{ticket.department.name} · {ticket.project.name}",
                                 reverse("followup:detail", args=[ticket.pk]),
                                 detail=f"期限 {ticket.due_at:%Y-%m-%d %H:%M}", urgent=True))
    if len(escalated) > SHOWN:
        entries.append(TodoEntry("escalations", "查看全部逾期工单", _ticket_list_url(status="open", view="overdue")))
    return entries


def todo_for(*, user, today: date, now: datetime) -> list[TodoEntry]:
    """The user's to-do entries, by role (a user with several roles gets each role's part)."""
    entries: list[TodoEntry] = []
    if user_may_enter_data(user):
        entries += todo_for_staff(today=today, now=now)
    if ports_owned_by(user):
        entries += todo_for_head(user=user, today=today, now=now)
    if user_is_management(user):
        entries += todo_for_management(user=user)
    return entries


# --- The morning digest: the same list by e-mail ----------------------------------------------------------------------

TODO_DIGEST = "todo_digest"


def register_notices() -> None:
    notification_kind_register(TODO_DIGEST, _("每日待办摘要"), _("每天早上把首页的待办事项发到邮箱（没有待办时不发）"))


def todo_digest_body(entries: list[TodoEntry]) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    lines = [f"- {e.text}{'（' + e.detail + '）' if e.detail else ''}\n  {base}{e.url}" for e in entries]
    return "您今天的待办事项：\n\n" + "\n".join(lines) + "\n"


def todo_digest_send(*, today: date, now: datetime) -> int:
    """Mail each active user with an address and something to do their to-do list; returns how many were written to."""
    sent = 0
    for user in get_user_model().objects.filter(is_active=True).exclude(email="").order_by("id"):
        entries = todo_for(user=user, today=today, now=now)
        if entries:
            notification_send(users=[user], kind=TODO_DIGEST, subject=f"【待办】{len(entries)} 项待处理",
                              body=todo_digest_body(entries))
            sent += 1
    return sent
