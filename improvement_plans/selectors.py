"""Reads of improvement plans, and the one place that says who may see and do what with a plan.

Scope: company-wide roles (management, committee, brand-service staff, administrators) see every plan; a
department head sees the plans of the ports their department owns or monitors, and the company plan only when
their department coordinates all ports (品牌客服部). Pages, the API and the services all ask here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext

from departments.models import Role, WorkingGroup
from departments.ports import PORTS, ports_in_order
from departments.selectors import (
    departments_headed_by,
    ports_owned_by,
    ports_visible_to,
    user_has_role,
    user_sees_company_wide,
)
from improvement_plans.models import (
    ActionItem,
    GroupMeeting,
    ImprovementPlan,
    ItemStatus,
    PlanAction,
    PlanStatus,
    PlanTransition,
)
from satisfaction.metrics.engine import target_status, too_few, two_proportion_change
from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricSnapshot
from surveys.models import Question, Survey, SurveySeries
from surveys.selectors import survey_year

# Plans whose targets count: agreed by management (drafts are proposals, not targets).
AGREED_STATUSES = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS, PlanStatus.COMPLETED)


# ---- who may do what -------------------------------------------------------------------------------------------

def user_heads_coordinating_department(user) -> bool:
    return user_has_role(user, Role.DEPARTMENT_HEAD) and departments_headed_by(user).filter(
        coordinates_all_ports=True
    ).exists()


def plans_visible_to(user) -> QuerySet[ImprovementPlan]:
    """The plans this user may see (not ordered)."""
    if not user.is_authenticated:
        return ImprovementPlan.objects.none()
    if user_sees_company_wide(user) or user_heads_coordinating_department(user):
        return ImprovementPlan.objects.all()
    visible = ports_visible_to(user)
    return ImprovementPlan.objects.filter(port__in=visible).exclude(port="")


def user_can_see_plan(user, plan: ImprovementPlan) -> bool:
    return plans_visible_to(user).filter(pk=plan.pk).exists()


def user_drafts_plans_for(user, port: str) -> bool:
    """Who drafts and submits a plan: the head of the port's owning department; for the company plan
    (port ''), brand-service staff or the head of 品牌客服部, which runs satisfaction management company-wide."""
    if not user.is_authenticated or not user.is_active:
        return False
    if port == "":
        return user_has_role(user, Role.BRAND_SERVICE) or user_heads_coordinating_department(user)
    return port in ports_owned_by(user)


def user_is_management(user) -> bool:
    return user.is_authenticated and user.is_active and user_has_role(user, Role.MANAGEMENT)


def user_can_edit_plan(user, plan: ImprovementPlan) -> bool:
    """Plan content (fields, action items) is editable only as a draft, by its drafter."""
    return plan.status == PlanStatus.DRAFT and user_drafts_plans_for(user, plan.port)


# Plans that run: they take new improvement items and research topics all year (§5.2), from their drafters
# or from management; pilots and edits of existing items stay with the draft.
RUNNING_STATUSES = (PlanStatus.APPROVED, PlanStatus.IN_PROGRESS)
RUNNING_ITEM_KINDS = ("improvement", "research")


def user_can_add_items(user, plan: ImprovementPlan) -> bool:
    """Draft: its drafters. Approved or in progress: its drafters and management (improvement items and research
    topics only). Submitted or completed: nobody."""
    if plan.status == PlanStatus.DRAFT:
        return user_drafts_plans_for(user, plan.port)
    if plan.status in RUNNING_STATUSES:
        return user_can_see_plan(user, plan) and (user_drafts_plans_for(user, plan.port) or user_is_management(user))
    return False


def plans_taking_items(*, user, port: str | None = None) -> QuerySet[ImprovementPlan]:
    """Plans this user may add action items to: their drafts, and running plans they draft or, as management,
    approve; newest year first."""
    running = Q(status__in=RUNNING_STATUSES)
    if user_is_management(user):
        allowed = Q(pk__in=plans_visible_to(user).filter(running).values("pk"))
    else:
        allowed = Q(pk__in=[])
    ports = plan_ports_draftable_by(user)
    allowed |= Q(port__in=ports, status__in=(PlanStatus.DRAFT, *RUNNING_STATUSES))
    plans = ImprovementPlan.objects.filter(allowed)
    if port is not None:
        plans = plans.filter(port=port)
    return plans.order_by("-year", "port", "id")


def user_can_record_progress(user, item: ActionItem) -> bool:
    """Progress on an action item: the plan's drafters, or the head of the item's responsible department
    when that head may see the plan. Never once the plan is completed."""
    plan = item.plan
    if plan.status == PlanStatus.COMPLETED:
        return False
    if user_drafts_plans_for(user, plan.port):
        return True
    return (
        item.responsible_department_id is not None
        and user_has_role(user, Role.DEPARTMENT_HEAD)
        and departments_headed_by(user).filter(pk=item.responsible_department_id).exists()
        and user_can_see_plan(user, plan)
    )


def user_in_active_working_group(user, *, today: date) -> bool:
    """A member of the standing group, or of a task force whose time box covers today."""
    return (
        WorkingGroup.objects.filter(members=user)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=today))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .exists()
    )


def user_can_comment(user, plan: ImprovementPlan, *, today: date) -> bool:
    """Management, the committee, working-group members and the plan's drafters — on plans they may see."""
    if not user.is_authenticated or not user.is_active or not user_can_see_plan(user, plan):
        return False
    return (
        user_is_management(user)
        or user_has_role(user, Role.COMMITTEE)
        or user_drafts_plans_for(user, plan.port)
        or user_in_active_working_group(user, today=today)
    )


def plan_ports_draftable_by(user) -> list[str]:
    """Port codes ('' = company) this user may draft plans for, company first then port order."""
    ports = [""] if user_drafts_plans_for(user, "") else []
    owned = ports_owned_by(user)
    return ports + ports_in_order(owned)


def management_recipients() -> list:
    """Active members of management (``core.notifications`` keeps those with an address who want the mail)."""
    User = get_user_model()
    return list(User.objects.filter(groups__name=Role.MANAGEMENT, is_active=True).order_by("id").distinct())


# ---- plans -----------------------------------------------------------------------------------------------------

def with_last_transition(plans: QuerySet[ImprovementPlan]) -> QuerySet[ImprovementPlan]:
    """Annotate each plan's latest transition (``last_action``, ``last_comment``): a draft whose latest action was a
    return is a returned plan (已退回), and its comment says why."""
    latest = PlanTransition.objects.filter(plan=OuterRef("pk")).order_by("-at", "-id")
    return plans.annotate(
        last_action=Subquery(latest.values("action")[:1]), last_comment=Subquery(latest.values("comment")[:1])
    )


def plans_returned(*, user) -> list[ImprovementPlan]:
    """Drafts that management returned, for the ports this user drafts plans for (a head's to-do)."""
    ports = ports_owned_by(user)
    plans = plans_visible_to(user).filter(status=PlanStatus.DRAFT, port__in=ports)
    return [p for p in with_last_transition(plans).order_by("year", "port", "id") if p.last_action == PlanAction.RETURN]


def plans_for_year(*, user, year: int) -> list[ImprovementPlan]:
    """The year's visible plans: the company plan first, then ports in their order."""
    order = {code: i for i, code in enumerate(["", *PORTS])}
    plans = list(with_last_transition(plans_visible_to(user).filter(year=year)).order_by("port", "id"))
    return sorted(plans, key=lambda plan: order.get(plan.port, 99))


def plans_awaiting_review(*, user) -> list[ImprovementPlan]:
    """Submitted plans this manager may approve or return (not their own submissions), oldest year first."""
    if not user_is_management(user):
        return []
    return list(
        plans_visible_to(user)
        .select_related("submitted_by")
        .filter(status=PlanStatus.SUBMITTED)
        .exclude(submitted_by=user)
        .order_by("year", "port", "id")
    )


def plan_scopes_without_plan(*, user, year: int, taken: set[str]) -> list[str]:
    """Port codes ('' = company) the user may see that have no plan for the year yet."""
    if user_sees_company_wide(user) or user_heads_coordinating_department(user):
        scopes = ["", *PORTS]
    else:
        scopes = ports_in_order(ports_visible_to(user))
    return [scope for scope in scopes if scope not in taken]


def plan_years(*, user) -> list[int]:
    return sorted(set(plans_visible_to(user).values_list("year", flat=True)), reverse=True)


def plan_editable_drafts(*, user, port: str | None = None) -> QuerySet[ImprovementPlan]:
    """Draft plans this user may add action items to, newest year first."""
    ports = plan_ports_draftable_by(user)
    if port is not None:
        ports = [p for p in ports if p == port]
    return ImprovementPlan.objects.filter(status=PlanStatus.DRAFT, port__in=ports).order_by("-year", "port")


OPEN_ITEM_STATUSES = ("not_started", "in_progress")


def item_is_overdue(item: ActionItem, *, today: date) -> bool:
    """Past its due date, still open, in a plan that runs (a draft's dates are proposals)."""
    return (
        item.due_on is not None
        and item.due_on < today
        and item.status in OPEN_ITEM_STATUSES
        and item.plan.status in RUNNING_STATUSES
    )


def action_items_overdue(*, today: date) -> QuerySet[ActionItem]:
    """Every overdue item of every running plan (the same rule as ``item_is_overdue``), oldest due first."""
    return (
        ActionItem.objects.filter(
            due_on__lt=today, status__in=OPEN_ITEM_STATUSES, plan__status__in=RUNNING_STATUSES
        )
        .select_related("plan", "responsible_department")
        .order_by("due_on", "id")
    )


def action_item_owners(item: ActionItem) -> list:
    """Whom an item's reminder goes to: the heads of its responsible department, else the plan's drafters (heads
    of the port's owning department; brand-service staff for the company plan)."""
    User = get_user_model()
    if item.responsible_department_id is not None:
        heads = User.objects.filter(
            memberships__department_id=item.responsible_department_id, memberships__is_head=True, is_active=True
        )
        if heads.exists():
            return list(heads.order_by("id").distinct())
    if item.plan.port == "":
        return list(User.objects.filter(groups__name=Role.BRAND_SERVICE, is_active=True).order_by("id").distinct())
    return list(
        User.objects.filter(
            memberships__department__owned_ports__code=item.plan.port, memberships__is_head=True, is_active=True
        )
        .order_by("id")
        .distinct()
    )


def question_labels(codes) -> dict[str, str]:
    """Each question code's label as the questionnaires name it (the newest wording), so codes never show raw."""
    labels: dict[str, str] = {}
    for code, label in (
        Question.objects.filter(code__in=set(codes)).order_by("survey__created_at", "id").values_list("code", "label")
    ):
        labels[code] = label
    return labels


def plan_items(*, plan: ImprovementPlan, today: date | None = None) -> list[ActionItem]:
    """Action items with their latest progress percentage (``latest_percent``), whether overdue (``overdue``) and
    their question's label (``question_label``), in kind then creation order."""
    items = list(
        plan.items.select_related("responsible_department", "source_survey", "working_group")
        .prefetch_related("notes")
        .order_by("kind", "id")
    )
    labels = question_labels(item.question_code for item in items if item.question_code)
    for item in items:
        notes = sorted(item.notes.all(), key=lambda note: (note.created_at, note.pk))
        item.latest_percent = notes[-1].percent if notes else None
        item.overdue = today is not None and item_is_overdue(item, today=today)
        item.question_label = labels.get(item.question_code, item.question_code) if item.question_code else ""
    return items


def plan_targets(*, year: int, series_id: int | None = None) -> dict:
    """The year's targets for the dashboards, as fractions 0–1: ``{"company": {"satisfaction", "loyalty"},
    "ports": {code: target}}``. Only agreed plans count (approved, in progress or completed): a draft or a
    submission is a proposal, not a target. With ``series_id``, only plans judged in that series
    (``plan_series_id``): a touch-point wave is not held to the annual survey's targets. None where no agreed
    plan sets one."""
    result = {"company": {"satisfaction": None, "loyalty": None}, "ports": {code: None for code in PORTS}}
    plans = ImprovementPlan.objects.filter(year=year, status__in=AGREED_STATUSES)
    if series_id is not None:
        plans = [plan for plan in plans if plan_series_id(plan) == series_id]
    rows = [(plan.port, plan.satisfaction_target, plan.loyalty_target) for plan in plans]
    for port, satisfaction, loyalty in rows:
        if port == "":
            result["company"] = {"satisfaction": satisfaction, "loyalty": loyalty}
        else:
            result["ports"][port] = satisfaction
    return result


# ---- numbers: baselines, follow-through, dashboard prefill, pilots ------------------------------------------

def _whole_survey_rows(port: str) -> QuerySet[MetricSnapshot]:
    return MetricSnapshot.objects.filter(port=port, project__isnull=True, stage="").select_related("survey")


def _survey_recency() -> list:
    return [F("survey__starts_on").desc(nulls_last=True), "-survey__created_at", "-survey__id"]


def _survey_age() -> list:
    """Oldest survey first (a trend reads left to right)."""
    return [F("survey__starts_on").asc(nulls_first=True), "survey__created_at", "survey__id"]


def latest_whole_survey_snapshot(*, port: str, survey: Survey | None = None) -> MetricSnapshot | None:
    """The newest survey's whole-survey row (headline for port ''), preferring company and group surveys
    to touch-point surveys; or the given survey's row."""
    rows = _whole_survey_rows(port).order_by(*_survey_recency())
    if survey is not None:
        return rows.filter(survey=survey).first()
    return rows.exclude(survey__source=Survey.Source.TOUCHPOINT).first() or rows.first()


@dataclass(frozen=True)
class Actual:
    """One survey's whole-survey figure set against the plan's target."""

    survey: Survey
    measure: str  # satisfaction | loyalty
    rate: float | None
    ci: tuple[float, float] | None
    n: int
    target: float | None
    status: str  # met | missed | undetermined

    @property
    def too_few(self) -> bool:
        return too_few(self.n)

    @property
    def status_label(self) -> str:
        return {"met": gettext("达成"), "missed": gettext("未达成")}.get(self.status, gettext("不确定"))


def _actual(snapshot: MetricSnapshot, measure: str, target: float | None) -> Actual:
    if measure == "loyalty":
        rate, low, high, n = snapshot.loyalty_rate, snapshot.loyalty_ci_low, snapshot.loyalty_ci_high, snapshot.loyalty_base or 0
    else:
        rate, low, high, n = (
            snapshot.satisfaction_rate,
            snapshot.satisfaction_ci_low,
            snapshot.satisfaction_ci_high,
            snapshot.n,
        )
    ci = (low, high) if low is not None and high is not None else None
    return Actual(snapshot.survey, measure, rate, ci, n, target, target_status(ci, target))


@dataclass
class FollowThrough:
    """Target vs. actual: the latest figure (``latest``), every survey of the plan's year and series, and
    whether there is none yet (``outside_year``: nothing is judged)."""

    satisfaction: list[Actual]
    loyalty: list[Actual]
    outside_year: bool

    @property
    def latest_satisfaction(self) -> Actual | None:
        return self.satisfaction[-1] if self.satisfaction else None

    @property
    def latest_loyalty(self) -> Actual | None:
        return self.loyalty[-1] if self.loyalty else None


def plan_series_id(plan: ImprovementPlan) -> int | None:
    """The series a plan's targets are judged in: its baseline survey's series, else the company survey's."""
    if plan.baseline_survey_id is not None:
        return Survey.objects.filter(pk=plan.baseline_survey_id).values_list("series_id", flat=True).first()
    return SurveySeries.objects.filter(code=Survey.Source.COMPANY).values_list("pk", flat=True).first()


def plan_follow_through(*, plan: ImprovementPlan) -> FollowThrough:
    """Target vs. actual from the snapshots of the surveys of the plan's year and series only: met / missed only
    when the whole 95 % interval is above / below the target, else 不确定 (``engine.target_status``). A year
    without such a survey yet (not started, or not surveyed) judges nothing: no 未达成 before there is a number."""
    series_id = plan_series_id(plan)
    rows = list(_whole_survey_rows(plan.port).filter(survey__series_id=series_id).order_by(*_survey_age()))
    in_year = [row for row in rows if survey_year(row.survey) == plan.year]
    satisfaction = [_actual(row, "satisfaction", plan.satisfaction_target) for row in in_year]
    loyalty = [_actual(row, "loyalty", plan.loyalty_target) for row in in_year] if plan.is_company else []
    return FollowThrough(satisfaction, loyalty, not in_year)


@dataclass(frozen=True)
class QuestionNumbers:
    survey: Survey
    port: str
    question_code: str
    label: str
    rate: float | None
    n: int | None
    importance: float | None


def dashboard_question_numbers(*, user, port: str, question_code: str, survey_code: str) -> QuestionNumbers | None:
    """A question's whole-survey rate and key-driver importance, as a dashboard shows them; None when the
    survey or question is unknown, the question is not of that port, or the user may not see the port."""
    if port and port not in ports_visible_to(user):
        return None
    if not port and not user_sees_company_wide(user):
        return None
    survey = Survey.objects.filter(code=survey_code).first()
    if survey is None:
        return None
    question = Question.objects.filter(survey=survey, code=question_code).first()
    if question is None or question.port != port:
        return None
    item = ItemSnapshot.objects.filter(survey=survey, question_code=question_code, project__isnull=True, stage="").first()
    driver = DriverSnapshot.objects.filter(
        survey=survey, port=port, project__isnull=True, question_code=question_code
    ).first()
    return QuestionNumbers(
        survey=survey,
        port=port,
        question_code=question_code,
        label=question.label,
        rate=item.satisfaction_rate if item else None,
        n=item.n if item else None,
        importance=driver.importance if driver else None,
    )


@dataclass(frozen=True)
class PilotComparison:
    """Pilot group vs. comparison group (the rest, or before the pilot): rates and the unpooled z-test
    of pilot − comparison."""

    pilot_rate: float
    comparison_rate: float
    difference: float
    z: float | None
    p_value: float | None
    significant: bool

    @property
    def z_display(self) -> str:
        if self.z is None:
            return "—"
        return "∞" if math.isinf(self.z) else f"{self.z:.2f}"


def pilot_comparison(*, item: ActionItem) -> PilotComparison | None:
    if not item.pilot_n or not item.comparison_n or item.pilot_satisfied is None or item.comparison_satisfied is None:
        return None
    pilot_rate = item.pilot_satisfied / item.pilot_n
    comparison_rate = item.comparison_satisfied / item.comparison_n
    # two_proportion_change tests p2 − p1: the comparison group is the reference.
    test = two_proportion_change(item.comparison_satisfied, item.comparison_n, item.pilot_satisfied, item.pilot_n)
    return PilotComparison(pilot_rate, comparison_rate, pilot_rate - comparison_rate, test.z, test.p_value, test.significant)


# Which transition each state allows, and who may make it (the services enforce the same rules).
TRANSITION_FROM = {
    "submit": PlanStatus.DRAFT,
    "approve": PlanStatus.SUBMITTED,
    "return": PlanStatus.SUBMITTED,
    "start": PlanStatus.APPROVED,
    "complete": PlanStatus.IN_PROGRESS,
}


def plan_available_actions(*, user, plan: ImprovementPlan) -> list[str]:
    """The transition buttons to show this user on this plan."""
    if not user_can_see_plan(user, plan):
        return []
    drafter = user_drafts_plans_for(user, plan.port)
    reviewer = user_is_management(user) and plan.submitted_by_id != user.pk
    may = {
        "submit": drafter,
        "approve": reviewer,
        "return": reviewer,
        "start": drafter or user_is_management(user),
        "complete": drafter or user_is_management(user),
    }
    return [action for action, source in TRANSITION_FROM.items() if plan.status == source and may[action]]


# ---- working groups (§5.1): everyone signed in reads; management and brand-service staff edit ---------------

def user_may_edit_groups(user) -> bool:
    return user.is_authenticated and user.is_active and (
        user.is_superuser or user_has_role(user, Role.MANAGEMENT) or user_has_role(user, Role.BRAND_SERVICE)
    )


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


def action_items_due(*, user, today: date, within_days: int = 14) -> list[ActionItem]:
    """Unfinished action items of the ports this user answers for, due within ``within_days`` or overdue."""
    ports = ports_owned_by(user)
    if not ports:
        return []
    return list(
        ActionItem.objects.select_related("plan")
        .filter(plan__port__in=ports, due_on__isnull=False, due_on__lte=today + timedelta(days=within_days))
        .exclude(status__in=[ItemStatus.DONE, ItemStatus.DROPPED])
        .exclude(plan__status=PlanStatus.COMPLETED)
        .order_by("due_on", "id")
    )
