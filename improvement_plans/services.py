"""Writes of improvement plans: one function per use case, each checking who may do it and in which state.

Workflow: 草稿 draft → 待审批 submitted → 已批准 approved → 执行中 in progress → 已完成 completed; a returned plan
goes back to draft with management's comment. Every change bumps ``version`` and leaves a history row; every
transition a ``PlanTransition``. Refusals raise ``PermissionDenied`` (who) or ``ValidationError`` (state or
input), always with a Chinese message, and change nothing.
"""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from core.api import CONFLICT_CODE
from departments.models import WorkingGroup
from departments.ports import PORTS
from improvement_plans import emails
from improvement_plans.models import (
    ADOPTED_OUTCOMES,
    ActionItem,
    GroupDecision,
    GroupMeeting,
    ImprovementPlan,
    ItemKind,
    ItemStatus,
    PilotOutcome,
    PlanAction,
    PlanComment,
    PlanStatus,
    PlanTransition,
    ProgressNote,
)
from improvement_plans.selectors import (
    RUNNING_ITEM_KINDS,
    RUNNING_STATUSES,
    action_items_overdue,
    latest_whole_survey_snapshot,
    user_can_add_items,
    user_can_comment,
    user_can_edit_plan,
    user_can_record_progress,
    user_can_see_plan,
    user_drafts_plans_for,
    user_is_management,
    user_may_edit_groups,
)

PLAN_FIELDS = ("satisfaction_target", "loyalty_target", "directions", "feedback_summary")
ITEM_FIELDS = (
    "kind",
    "title",
    "description",
    "measure_category",
    "responsible_department",
    "responsible_person",
    "due_on",
    "working_group",
    "question_code",
    "source_survey",
    "question_rate",
    "question_n",
    "question_importance",
    "pilot_scope",
    "old_process",
    "new_process",
    "cost_analysis",
    "comparison_kind",
)
PILOT_RESULT_FIELDS = ("comparison_kind", "pilot_satisfied", "pilot_n", "comparison_satisfied", "comparison_n")

CONFLICT_MESSAGE = "该计划在您打开之后已被他人修改并保存，您的修改未保存，也未覆盖他人的内容。请刷新页面查看最新内容后再修改。"


def _locked(plan: ImprovementPlan) -> ImprovementPlan:
    """Re-read the plan under a row lock so that two transitions cannot both start from the same state."""
    return ImprovementPlan.objects.select_for_update().get(pk=plan.pk)


def _save_plan(plan: ImprovementPlan, *, user, reason: str, fields: list[str]) -> None:
    plan.version += 1  # the row is locked (select_for_update) by every caller
    plan._history_user = user
    plan._change_reason = reason
    plan.save(update_fields=[*fields, "version", "updated_at"])


def _validate_targets(*, port: str, satisfaction_target, loyalty_target) -> None:
    errors = {}
    for name, value in (("satisfaction_target", satisfaction_target), ("loyalty_target", loyalty_target)):
        if value is not None and not 0 <= value <= 1:
            errors[name] = "目标须在 0% 到 100% 之间"
    if port and loyalty_target is not None:
        errors["loyalty_target"] = "忠诚度目标只在公司总体计划中设定"
    if errors:
        raise ValidationError(errors)


# ---- plans -----------------------------------------------------------------------------------------------------

def plan_create(
    *,
    user,
    year: int,
    port: str,
    satisfaction_target: float | None = None,
    loyalty_target: float | None = None,
    directions: str = "",
    feedback_summary: str = "",
    baseline_survey=None,
) -> ImprovementPlan:
    """A draft plan for a year and a port ('' = company), its baseline taken from the latest snapshots
    (or from ``baseline_survey``'s, for a plan written after the fact)."""
    if port not in ("", *PORTS):
        raise ValidationError({"port": "未知端口"})
    if not user_drafts_plans_for(user, port):
        raise PermissionDenied("您无权起草该端口的提升计划：端口计划由其责任部门负责人起草，公司总体计划由品牌客服部起草。")
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": "年度须在 2000 到 2100 之间"})
    _validate_targets(port=port, satisfaction_target=satisfaction_target, loyalty_target=loyalty_target)
    plan = ImprovementPlan(
        year=year,
        port=port,
        satisfaction_target=satisfaction_target,
        loyalty_target=loyalty_target,
        directions=directions,
        feedback_summary=feedback_summary,
        created_by=user,
    )
    baseline = latest_whole_survey_snapshot(port=port, survey=baseline_survey)
    if baseline is not None:
        plan.baseline_survey = baseline.survey
        plan.baseline_satisfaction_rate = baseline.satisfaction_rate
        plan.baseline_satisfaction_ci_low = baseline.satisfaction_ci_low
        plan.baseline_satisfaction_ci_high = baseline.satisfaction_ci_high
        plan.baseline_n = baseline.n
        if port == "":
            plan.baseline_loyalty_rate = baseline.loyalty_rate
            plan.baseline_loyalty_ci_low = baseline.loyalty_ci_low
            plan.baseline_loyalty_ci_high = baseline.loyalty_ci_high
            plan.baseline_loyalty_base = baseline.loyalty_base
    plan._history_user = user
    plan._change_reason = "起草"
    duplicate = ValidationError(
        {"port": ValidationError(f"{year} 年度的{plan.scope_label}提升计划已存在", code=CONFLICT_CODE)}
    )
    if ImprovementPlan.objects.filter(year=year, port=port).exists():
        raise duplicate
    try:
        with transaction.atomic():
            plan.save()
            PlanTransition.objects.create(
                plan=plan, action=PlanAction.CREATE, from_status="", to_status=PlanStatus.DRAFT, by=user, at=timezone.now()
            )
    except IntegrityError as exc:  # a concurrent create of the same year and port
        raise duplicate from exc
    return plan


def plan_update(*, plan: ImprovementPlan, user, version: int, **fields) -> ImprovementPlan:
    """Edit a draft's targets and texts. ``version`` is the one the editor loaded: if the plan was saved
    since, nothing is written and the editor is told (optimistic concurrency)."""
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValueError(f"not plan fields: {sorted(unknown)}")
    with transaction.atomic():
        current = _locked(plan)
        if not user_can_see_plan(user, current) or not user_drafts_plans_for(user, current.port):
            raise PermissionDenied("您无权修改该计划。")
        if current.status != PlanStatus.DRAFT:
            raise ValidationError(f"计划当前为“{current.get_status_display()}”，只有草稿可以修改。")
        if current.version != version:
            raise ValidationError(CONFLICT_MESSAGE, code="conflict")
        _validate_targets(
            port=current.port,
            satisfaction_target=fields.get("satisfaction_target", current.satisfaction_target),
            loyalty_target=fields.get("loyalty_target", current.loyalty_target),
        )
        for name, value in fields.items():
            setattr(current, name, value)
        _save_plan(current, user=user, reason="修改", fields=list(fields))
    return current


def _transition(
    *, plan: ImprovementPlan, user, action: str, allowed_from: str, to: str, check, comment: str = "",
    extra: dict | None = None,
) -> ImprovementPlan:
    """Move the plan from ``allowed_from`` to ``to``. Who may (``check``) and the state are both judged on
    the row as locked, so two people acting at once cannot both move it."""
    with transaction.atomic():
        current = _locked(plan)
        check(user, current)
        if current.status != allowed_from:
            raise ValidationError(
                f"计划当前为“{current.get_status_display()}”，不能{PlanAction(action).label}"
                f"（须为“{PlanStatus(allowed_from).label}”）。"
            )
        from_status = current.status
        current.status = to
        for name, value in (extra or {}).items():
            setattr(current, name, value)
        _save_plan(current, user=user, reason=str(PlanAction(action).label), fields=["status", *(extra or {})])
        transition = PlanTransition.objects.create(
            plan=current, action=action, from_status=from_status, to_status=to, by=user, at=timezone.now(), comment=comment
        )
        emails.plan_transition_notify_on_commit(transition_id=transition.pk)
    plan.refresh_from_db()
    return current


def _require_visible(user, plan: ImprovementPlan) -> None:
    if not user_can_see_plan(user, plan):
        raise PermissionDenied("您无权查看该计划。")


def _require_drafter(user, plan: ImprovementPlan) -> None:
    _require_visible(user, plan)
    if not user_drafts_plans_for(user, plan.port):
        raise PermissionDenied("只有计划的起草部门（端口责任部门负责人；公司计划为品牌客服部）可以提交。")


def _require_reviewer(user, plan: ImprovementPlan) -> None:
    _require_visible(user, plan)
    if not user_is_management(user):
        raise PermissionDenied("只有管理层可以审批计划。")
    if plan.submitted_by_id is not None and plan.submitted_by_id == user.pk:
        raise PermissionDenied("不能审批自己提交的计划。")


def _require_owner_or_management(user, plan: ImprovementPlan) -> None:
    _require_visible(user, plan)
    if not (user_drafts_plans_for(user, plan.port) or user_is_management(user)):
        raise PermissionDenied("只有计划的责任部门或管理层可以开始或完成计划。")


def plan_submit(*, plan: ImprovementPlan, user) -> ImprovementPlan:
    """The drafter sends the draft to management for approval."""
    return _transition(
        plan=plan, user=user, action=PlanAction.SUBMIT, allowed_from=PlanStatus.DRAFT, to=PlanStatus.SUBMITTED,
        check=_require_drafter, extra={"submitted_by": user},
    )


def plan_approve(*, plan: ImprovementPlan, user, comment: str = "") -> ImprovementPlan:
    """Management approves a submitted plan; never the person who submitted it."""
    return _transition(
        plan=plan, user=user, action=PlanAction.APPROVE, allowed_from=PlanStatus.SUBMITTED, to=PlanStatus.APPROVED,
        check=_require_reviewer, comment=comment.strip(),
    )


def plan_return(*, plan: ImprovementPlan, user, comment: str) -> ImprovementPlan:
    """Management sends a submitted plan back to draft; the comment says what to change."""
    if not (comment or "").strip():
        _require_reviewer(user, plan)
        raise ValidationError({"comment": "退回时请填写意见，说明需要修改的内容。"})
    return _transition(
        plan=plan, user=user, action=PlanAction.RETURN, allowed_from=PlanStatus.SUBMITTED, to=PlanStatus.DRAFT,
        check=_require_reviewer, comment=comment.strip(),
    )


def plan_start(*, plan: ImprovementPlan, user) -> ImprovementPlan:
    return _transition(
        plan=plan, user=user, action=PlanAction.START, allowed_from=PlanStatus.APPROVED, to=PlanStatus.IN_PROGRESS,
        check=_require_owner_or_management,
    )


def plan_complete(*, plan: ImprovementPlan, user, comment: str = "") -> ImprovementPlan:
    return _transition(
        plan=plan, user=user, action=PlanAction.COMPLETE, allowed_from=PlanStatus.IN_PROGRESS, to=PlanStatus.COMPLETED,
        check=_require_owner_or_management, comment=comment.strip(),
    )


TRANSITIONS = {
    PlanAction.SUBMIT: plan_submit,
    PlanAction.APPROVE: plan_approve,
    PlanAction.RETURN: plan_return,
    PlanAction.START: plan_start,
    PlanAction.COMPLETE: plan_complete,
}


def plan_comment_add(*, plan: ImprovementPlan, user, text: str, today: date | None = None) -> PlanComment:
    today = today or timezone.localdate()
    if not user_can_comment(user, plan, today=today):
        raise PermissionDenied("只有管理层、满意度管理小组成员、提升小组成员和计划责任部门可以评论。")
    text = text.strip()
    if not text:
        raise ValidationError({"text": "评论不能为空。"})
    return PlanComment.objects.create(plan=plan, author=user, text=text, created_at=timezone.now())


# ---- action items ----------------------------------------------------------------------------------------------

def _require_plan_editable(user, plan: ImprovementPlan) -> None:
    _require_visible(user, plan)
    if not user_drafts_plans_for(user, plan.port):
        raise PermissionDenied("您无权修改该计划的行动项：只能修改本部门负责端口的计划。")
    if not user_can_edit_plan(user, plan):
        raise ValidationError(f"计划当前为“{plan.get_status_display()}”，只有草稿可以增改行动项；已批准的计划只能更新进展。")


def _clean_item(item: ActionItem) -> None:
    try:
        item.full_clean(exclude=["plan"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from exc


def _require_may_add(user, plan: ImprovementPlan, kind: str) -> None:
    """A draft takes items from its drafters; a running plan (approved, in progress) takes improvement items and
    research topics all year from its drafters and from management."""
    if plan.status == PlanStatus.DRAFT:
        _require_plan_editable(user, plan)
        return
    _require_visible(user, plan)
    if plan.status not in RUNNING_STATUSES:
        raise ValidationError(
            f"计划当前为“{plan.get_status_display()}”，不能新增行动项（草稿、已批准或执行中的计划可以）。"
        )
    if not user_can_add_items(user, plan):
        raise PermissionDenied("只有计划起草部门和管理层可以在执行期间新增行动项。")
    if kind not in RUNNING_ITEM_KINDS:
        raise ValidationError({"kind": "已批准的计划只能新增改善项目或研究课题；流程试点须在草稿阶段列入。"})


def action_item_create(*, plan: ImprovementPlan, user, **fields) -> ActionItem:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"not action item fields: {sorted(unknown)}")
    with transaction.atomic():
        plan = _locked(plan)
        _require_may_add(user, plan, fields.get("kind", ItemKind.IMPROVEMENT))
        running = plan.status in RUNNING_STATUSES
        item = ActionItem(plan=plan, **fields)
        _clean_item(item)
        item._history_user = user
        item._change_reason = f"计划{plan.get_status_display()}期间新增" if running else "新增"
        item.save()
        if running:
            # The plan's own history says what was added while it ran; management hears of it.
            _save_plan(plan, user=user, reason=f"执行期间新增{item.get_kind_display()}：{item.title}"[:100], fields=[])
            emails.item_added_notify_on_commit(item_id=item.pk, by_id=user.pk)
        else:
            # Adding an item changes the plan: an editor holding an older version must reload.
            ImprovementPlan.objects.filter(pk=plan.pk).update(version=F("version") + 1)
    return item


def action_item_update(*, item: ActionItem, user, **fields) -> ActionItem:
    unknown = set(fields) - set(ITEM_FIELDS)
    if unknown:
        raise ValueError(f"not action item fields: {sorted(unknown)}")
    with transaction.atomic():
        plan = _locked(item.plan)
        _require_plan_editable(user, plan)
        item = ActionItem.objects.select_for_update().get(pk=item.pk)
        for name, value in fields.items():
            setattr(item, name, value)
        _clean_item(item)
        item._history_user = user
        item._change_reason = "修改"
        item.save()
        ImprovementPlan.objects.filter(pk=plan.pk).update(version=F("version") + 1)
    return item


def _require_progress(user, item: ActionItem) -> None:
    _require_visible(user, item.plan)
    if item.plan.status == PlanStatus.COMPLETED:
        raise ValidationError("计划已完成，不能再更新进展。")
    if not user_can_record_progress(user, item):
        raise PermissionDenied("只有计划责任部门或该行动项的责任部门负责人可以更新进展。")


def action_item_progress_add(
    *, item: ActionItem, user, text: str, percent: int, status: str | None = None, now: datetime | None = None
) -> ProgressNote:
    """A progress note (text and percent done), optionally moving the item's status."""
    _require_progress(user, item)
    errors = {}
    if not text.strip():
        errors["text"] = "请填写进展说明。"
    if percent is None or not 0 <= percent <= 100:
        errors["percent"] = "完成百分比须在 0 到 100 之间。"
    if status is not None and status not in ItemStatus.values:
        errors["status"] = "未知状态。"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        note = ProgressNote.objects.create(
            item=item, author=user, text=text.strip(), percent=percent, created_at=now or timezone.now()
        )
        if status is not None and status != item.status:
            item.status = status
            item._history_user = user
            item._change_reason = "更新进展"
            item.save(update_fields=["status", "updated_at"])
    return note


def action_item_promote(*, item: ActionItem, user) -> ActionItem:
    """A research topic whose answer has become clear turns into an improvement item (§5.2); the history keeps
    what it was."""
    _require_progress(user, item)
    if item.kind != ItemKind.RESEARCH:
        raise ValidationError("只有研究课题可以转为改善项目。")
    with transaction.atomic():
        item = ActionItem.objects.select_for_update().get(pk=item.pk)
        item.kind = ItemKind.IMPROVEMENT
        item.promoted_at = timezone.now()
        item._history_user = user
        item._change_reason = "研究课题转为改善项目"
        item.save(update_fields=["kind", "promoted_at", "updated_at"])
    return item


def action_item_pilot_record(
    *,
    item: ActionItem,
    user,
    comparison_kind: str,
    pilot_satisfied: int | None,
    pilot_n: int | None,
    comparison_satisfied: int | None,
    comparison_n: int | None,
    outcome: str = "",
    outcome_reference: str = "",
) -> ActionItem:
    """The pilot's measured comparison and its outcome. The new process may be promised to owners only once
    adopted as a company standard or department guideline (§5.3), so the flag follows the outcome."""
    _require_progress(user, item)
    errors = {}
    if item.kind != ItemKind.PILOT:
        raise ValidationError("只有流程试点可以记录试点对比和结论。")
    for satisfied, n, label, key in (
        (pilot_satisfied, pilot_n, "试点组", "pilot_satisfied"),
        (comparison_satisfied, comparison_n, "对照组", "comparison_satisfied"),
    ):
        if (satisfied is None) != (n is None):
            errors[key] = f"{label}的满意数和样本量须同时填写。"
        elif satisfied is not None and (satisfied < 0 or n < 0 or satisfied > n):
            errors[key] = f"{label}的满意数不能大于样本量，也不能为负。"
    if outcome not in PilotOutcome.values:
        errors["outcome"] = "未知结论。"
    elif outcome in ADOPTED_OUTCOMES and not outcome_reference.strip():
        errors["outcome_reference"] = "形成公司规范或部门指引时须填写规范/指引编号。"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        item = ActionItem.objects.select_for_update().get(pk=item.pk)
        item.comparison_kind = comparison_kind
        item.pilot_satisfied, item.pilot_n = pilot_satisfied, pilot_n
        item.comparison_satisfied, item.comparison_n = comparison_satisfied, comparison_n
        item.outcome = outcome
        item.outcome_reference = outcome_reference.strip() if outcome in ADOPTED_OUTCOMES else ""
        item.no_promise_to_owners = outcome not in ADOPTED_OUTCOMES
        if outcome == PilotOutcome.DROPPED:
            item.status = ItemStatus.DROPPED
        elif outcome in ADOPTED_OUTCOMES:
            item.status = ItemStatus.DONE
        item._history_user = user
        item._change_reason = "记录试点结果"
        item.save()
    return item


# ---- overdue reminders -----------------------------------------------------------------------------------------

REMIND_EVERY_DAYS = 7


def action_items_remind_overdue(*, today: date) -> list[int]:
    """Remind the owners of overdue items of running plans (``selectors.action_items_overdue``): once when an
    item falls overdue, then again every ``REMIND_EVERY_DAYS`` days while it stays so. Returns the items reminded."""
    from datetime import timedelta

    reminded = []
    for item in action_items_overdue(today=today):
        if item.overdue_reminded_on is not None and item.overdue_reminded_on > today - timedelta(days=REMIND_EVERY_DAYS):
            continue
        with transaction.atomic():
            updated = ActionItem.objects.filter(pk=item.pk, overdue_reminded_on=item.overdue_reminded_on).update(
                overdue_reminded_on=today
            )
            if not updated:  # another run reminded it meanwhile
                continue
            emails.item_overdue_notify_on_commit(item_id=item.pk, today=today)
        reminded.append(item.pk)
    return reminded


# ---- working groups --------------------------------------------------------------------------------------------

def _require_editor(user) -> None:
    if not user_may_edit_groups(user):
        raise PermissionDenied("只有管理层和品牌客服专员可以维护管理小组。")


def group_validate(*, kind: str, starts_on: date | None, ends_on: date | None) -> None:
    errors = {}
    if kind == WorkingGroup.Kind.TASK_FORCE and (starts_on is None or ends_on is None):
        errors["ends_on" if starts_on else "starts_on"] = "阶段性提升小组须填写开始和结束日期。"
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "结束日期不能早于开始日期。"
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def group_save(*, user, group: WorkingGroup | None = None, members=(), **fields) -> WorkingGroup:
    _require_editor(user)
    group_validate(kind=fields.get("kind"), starts_on=fields.get("starts_on"), ends_on=fields.get("ends_on"))
    group = group or WorkingGroup()
    for name, value in fields.items():
        setattr(group, name, value)
    group.full_clean()
    group.save()
    group.members.set(members)
    return group


@transaction.atomic
def meeting_add(*, user, group: WorkingGroup, held_on: date, title: str, attendees: str = "", minutes: str = "") -> GroupMeeting:
    _require_editor(user)
    meeting = GroupMeeting(
        group=group, held_on=held_on, title=title.strip(), attendees=attendees.strip(), minutes=minutes.strip(),
        created_by=user,
    )
    meeting.full_clean()
    meeting._history_user = user
    meeting.save()
    return meeting


@transaction.atomic
def decision_add(*, user, meeting: GroupMeeting, text: str, responsible: str = "", due_on: date | None = None) -> GroupDecision:
    _require_editor(user)
    if not text.strip():
        raise ValidationError({"text": "请填写决议内容。"})
    decision = GroupDecision(meeting=meeting, text=text.strip(), responsible=responsible.strip(), due_on=due_on)
    decision.full_clean()
    decision._history_user = user
    decision.save()
    return decision

