"""Working groups as pages (procedure §5.1): the standing satisfaction & loyalty group and time-boxed task forces,
with members, purpose, term, meetings and decisions; a task force owns the action items linked to it.

Reads and writes in one small module: everyone signed in reads; management and brand-service staff edit.
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet

from departments.models import Role, WorkingGroup
from departments.selectors import user_has_role
from improvement_plans.models import ActionItem, GroupDecision, GroupMeeting


def user_may_edit_groups(user) -> bool:
    return user.is_authenticated and user.is_active and (
        user.is_superuser or user_has_role(user, Role.MANAGEMENT) or user_has_role(user, Role.BRAND_SERVICE)
    )


def _require_editor(user) -> None:
    if not user_may_edit_groups(user):
        raise PermissionDenied("只有管理层和品牌客服专员可以维护管理小组。")


def groups_in_order() -> QuerySet[WorkingGroup]:
    """The standing group first, then task forces, newest term first."""
    return WorkingGroup.objects.annotate(member_count=Count("members", distinct=True)).order_by(
        "-kind", "-starts_on", "name"
    )


def group_is_active(group: WorkingGroup, *, today: date) -> bool:
    return (group.starts_on is None or group.starts_on <= today) and (group.ends_on is None or group.ends_on >= today)


def group_items(group: WorkingGroup) -> list[ActionItem]:
    return list(group.action_items.select_related("plan", "responsible_department").order_by("due_on", "id"))


def group_meetings(group: WorkingGroup) -> list[GroupMeeting]:
    return list(group.meetings.prefetch_related("decisions").order_by("-held_on", "-id"))


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
