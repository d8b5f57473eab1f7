"""E-mail notices of plan transitions: a submission to management, an approval or a return to the submitter.

Sent through ``core.notifications`` (kind ``plan_transition``, which each user may turn off) after the
transaction commits, so a rolled-back transition never mails anyone.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from core.notifications import notification_send

logger = logging.getLogger(__name__)


PLAN_TRANSITION = "plan_transition"


def plan_transition_notify_on_commit(*, transition_id: int) -> None:
    transaction.on_commit(lambda: plan_transition_notify(transition_id=transition_id))


def _plan_link(plan) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{reverse('plans:plan_detail', args=[plan.pk])}"


def plan_transition_notify(*, transition_id: int) -> int:
    """Mail whoever must act or know; returns the number of people written to."""
    from improvement_plans.models import PlanAction, PlanTransition
    from improvement_plans.selectors import management_recipients

    transition = PlanTransition.objects.select_related("plan", "plan__submitted_by", "by").get(pk=transition_id)
    plan = transition.plan
    by = transition.by.get_full_name() or transition.by.username if transition.by else "系统"
    title = f"{plan.year} 年度{plan.scope_label}满意度提升计划"
    if transition.action == PlanAction.SUBMIT:
        recipients = management_recipients()
        subject = f"【待审批】{title}"
        body = f"{by} 提交了{title}，请审批。\n\n查看：{_plan_link(plan)}\n"
    elif transition.action in (PlanAction.APPROVE, PlanAction.RETURN):
        recipients = [plan.submitted_by] if plan.submitted_by else []
        verdict = "已批准" if transition.action == PlanAction.APPROVE else "被退回修改"
        subject = f"【{verdict}】{title}"
        body = f"您提交的{title}{verdict}（{by}）。\n"
        if transition.comment:
            body += f"\n意见：{transition.comment}\n"
        body += f"\n查看：{_plan_link(plan)}\n"
    else:
        return 0
    notification_send(users=recipients, kind=PLAN_TRANSITION, subject=subject, body=body)
    return len(recipients)


PLAN_ITEM_ADDED = "plan_item_added"


def item_added_notify_on_commit(*, item_id: int, by_id: int | None) -> None:
    transaction.on_commit(lambda: item_added_notify(item_id=item_id, by_id=by_id))


def item_added_notify(*, item_id: int, by_id: int | None) -> int:
    """Tell management that a running plan took a new action item or research topic (not the one who added it)."""
    from improvement_plans.models import ActionItem
    from improvement_plans.selectors import management_recipients

    item = ActionItem.objects.select_related("plan").get(pk=item_id)
    plan = item.plan
    recipients = [user for user in management_recipients() if user.pk != by_id]
    title = f"{plan.year} 年度{plan.scope_label}满意度提升计划"
    subject = f"【新增{item.get_kind_display()}】{title}"
    body = (
        f"{title}（{plan.get_status_display()}）新增{item.get_kind_display()}“{item.title}”。\n\n查看：{_plan_link(plan)}\n"
    )
    notification_send(users=recipients, kind=PLAN_ITEM_ADDED, subject=subject, body=body)
    return len(recipients)


ACTION_ITEM_OVERDUE = "action_item_overdue"


def item_overdue_notify_on_commit(*, item_id: int, today) -> None:
    transaction.on_commit(lambda: item_overdue_notify(item_id=item_id, today=today))


def item_overdue_notify(*, item_id: int, today) -> int:
    """Tell the item's owners (``selectors.action_item_owners``) that it is past its due date."""
    from improvement_plans.models import ActionItem
    from improvement_plans.selectors import action_item_owners

    item = ActionItem.objects.select_related("plan", "responsible_department").get(pk=item_id)
    plan = item.plan
    recipients = action_item_owners(item)
    days = (today - item.due_on).days
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    link = f"{base}{reverse('plans:action_item_detail', args=[item.pk])}"
    subject = f"【行动项逾期】{item.title}"
    body = (
        f"{plan.year} 年度{plan.scope_label}满意度提升计划的{item.get_kind_display()}“{item.title}”"
        f"完成期限为 {item.due_on:%Y-%m-%d}，已逾期 {days} 天，当前状态：{item.get_status_display()}。\n"
        f"请更新进展或调整期限。\n\n查看：{link}\n"
    )
    notification_send(users=recipients, kind=ACTION_ITEM_OVERDUE, subject=subject, body=body)
    return len(recipients)
