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
