"""Plan pages: thin views that read through ``selectors`` and write through ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from departments.models import WorkingGroup
from improvement_plans import selectors, services
from improvement_plans.forms import (
    ActionItemForm,
    ActionItemNewForm,
    CommentForm,
    DecisionForm,
    MeetingForm,
    PilotResultForm,
    PlanCreateForm,
    PlanEditForm,
    ProgressForm,
    ReviewForm,
    WorkingGroupForm,
)
from improvement_plans.models import ActionItem, GroupMeeting, ItemKind, PlanAction, PlanStatus, plan_scope_label


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "；".join(message for messages_ in exc.message_dict.values() for message in messages_)
    return "；".join(exc.messages)


def _apply_errors(form, exc: ValidationError) -> None:
    """Put a service's errors on the form fields they name (else on the form), keeping what was typed."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _plan_for(request, pk: int):
    return get_object_or_404(selectors.plans_visible_to(request.user).select_related("baseline_survey"), pk=pk)


def _item_for(request, pk: int) -> ActionItem:
    item = get_object_or_404(ActionItem.objects.select_related("plan", "responsible_department", "source_survey"), pk=pk)
    if not selectors.user_can_see_plan(request.user, item.plan):
        raise Http404
    return item


def plan_list(request):
    years = selectors.plan_years(user=request.user)
    this_year = timezone.localdate().year
    try:
        year = int(request.GET.get("year") or (years[0] if years else this_year))
    except ValueError:
        year = this_year
    plans = selectors.plans_for_year(user=request.user, year=year)
    taken = {plan.port for plan in plans}
    can_start = [
        (port, plan_scope_label(port)) for port in selectors.plan_ports_draftable_by(request.user) if port not in taken
    ]
    year_links = sorted({*years, this_year, this_year + 1, year}, reverse=True)
    missing = [
        plan_scope_label(scope)
        for scope in selectors.plan_scopes_without_plan(user=request.user, year=year, taken=taken)
    ]
    return render(
        request,
        "plans/plan_list.html",
        {
            "plans": plans,
            "year": year,
            "years": year_links,
            "can_start": can_start,
            "missing": missing,
            "awaiting": selectors.plans_awaiting_review(user=request.user),
        },
    )


def plan_create(request):
    ports = selectors.plan_ports_draftable_by(request.user)
    if not ports:
        raise PermissionDenied(_("您无权起草提升计划。"))
    if request.method == "POST":
        form = PlanCreateForm(request.POST, ports=ports)
        if form.is_valid():
            try:
                plan = services.plan_create(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("计划草稿已创建，基线已按最新调查数据填入。"))
                return redirect("plans:plan_detail", pk=plan.pk)
    else:
        initial = {"year": request.GET.get("year") or timezone.localdate().year}
        if request.GET.get("port") in ports:
            initial["port"] = request.GET["port"]
        form = PlanCreateForm(initial=initial, ports=ports)
    return render(request, "plans/plan_form.html", {"form": form, "plan": None})


def plan_detail(request, pk: int):
    plan = _plan_for(request, pk)
    today = timezone.localdate()
    items = selectors.plan_items(plan=plan, today=today)
    for item in items:
        item.comparison = selectors.pilot_comparison(item=item) if item.kind == ItemKind.PILOT else None
    transitions = list(plan.transitions.select_related("by").order_by("at", "id"))
    returned = (
        transitions[-1]
        if plan.status == PlanStatus.DRAFT and transitions and transitions[-1].action == PlanAction.RETURN
        else None
    )
    actions = selectors.plan_available_actions(user=request.user, plan=plan)
    context = {
        "plan": plan,
        "follow": selectors.plan_follow_through(plan=plan),
        "improvements": [item for item in items if item.kind == ItemKind.IMPROVEMENT],
        "research": [item for item in items if item.kind == ItemKind.RESEARCH],
        "pilots": [item for item in items if item.kind == ItemKind.PILOT],
        "transitions": transitions,
        "returned": returned,
        "comments": plan.comments.select_related("author").order_by("created_at", "id"),
        "history": plan.history.select_related("history_user").order_by("-history_date")[:20],
        "actions": actions,
        "can_edit": selectors.user_can_edit_plan(request.user, plan),
        "can_add_items": selectors.user_can_add_items(request.user, plan),
        "can_comment": selectors.user_can_comment(request.user, plan, today=today),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(may_return="return" in actions),
    }
    return render(request, "plans/plan_detail.html", context)


def plan_edit(request, pk: int):
    plan = _plan_for(request, pk)
    if not selectors.user_drafts_plans_for(request.user, plan.port):
        raise PermissionDenied(_("您无权修改该计划。"))
    if plan.status != PlanStatus.DRAFT:
        messages.error(request, _("只有草稿可以修改；已提交或已批准的计划只能更新行动项进展。"))
        return redirect("plans:plan_detail", pk=plan.pk)
    conflict = False
    if request.method == "POST":
        form = PlanEditForm(request.POST, instance=plan)
        if form.is_valid():
            try:
                services.plan_update(
                    plan=plan, user=request.user, version=form.cleaned_data["version"], **form.plan_fields()
                )
            except ValidationError as exc:
                conflict = getattr(exc, "code", None) == "conflict"
                _apply_errors(form, exc)
            else:
                messages.success(request, _("计划已保存。"))
                return redirect("plans:plan_detail", pk=plan.pk)
    else:
        form = PlanEditForm(instance=plan)
    return render(request, "plans/plan_form.html", {"form": form, "plan": plan, "conflict": conflict})


@require_POST
def plan_transition(request, pk: int, action: str):
    plan = _plan_for(request, pk)
    service = services.TRANSITIONS.get(action)
    if service is None:
        raise Http404
    kwargs = {"plan": plan, "user": request.user}
    if action in ("approve", "return", "complete"):
        form = ReviewForm(request.POST)
        form.is_valid()
        kwargs["comment"] = form.cleaned_data.get("comment", "")
    try:
        service(**kwargs)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        done = {
            "submit": _("计划已提交，等待管理层审批。"),
            "approve": _("计划已批准。"),
            "return": _("计划已退回修改。"),
            "start": _("计划已开始执行。"),
            "complete": _("计划已完成。"),
        }
        messages.success(request, done[action])
    return redirect("plans:plan_detail", pk=plan.pk)


@require_POST
def plan_comment(request, pk: int):
    plan = _plan_for(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("评论不能为空。"))
    else:
        try:
            services.plan_comment_add(plan=plan, user=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, _("评论已发表。"))
    return redirect(f"{reverse('plans:plan_detail', args=[plan.pk])}#comments")


def _dashboard_prefill(request) -> tuple[dict, object | None, str | None]:
    """Initial values from a dashboard link (?port=&item=&survey=): the question and its numbers."""
    port = request.GET.get("port")
    item = request.GET.get("item")
    survey = request.GET.get("survey")
    if port is None or not item or not survey:
        return {}, None, port
    numbers = selectors.dashboard_question_numbers(
        user=request.user, port=port, question_code=item, survey_code=survey
    )
    if numbers is None:
        messages.warning(request, _("无法带入该题目的数据：调查或题目不存在，或您无权查看该端口。"))
        return {}, None, port
    initial = {"kind": ItemKind.IMPROVEMENT, "title": _("提升“%(label)s”满意度") % {"label": numbers.label}}
    return initial, numbers, port


def action_item_new(request):
    initial, numbers, port = _dashboard_prefill(request)
    plans = selectors.plans_taking_items(user=request.user, port=port if port is not None else None)
    if not plans.exists():
        messages.error(
            request,
            _("没有可添加行动项的计划：请先起草本端口的年度提升计划（待审批和已完成的计划不能新增行动项）。"),
        )
        return redirect("plans:plan_list")
    if request.method == "POST":
        form = ActionItemNewForm(request.POST, plans=plans)
        if form.is_valid():
            fields = form.item_fields()
            if numbers is not None:
                fields |= {
                    "question_code": numbers.question_code,
                    "source_survey": numbers.survey,
                    "question_rate": numbers.rate,
                    "question_n": numbers.n,
                    "question_importance": numbers.importance,
                }
            try:
                item = services.action_item_create(plan=form.cleaned_data["plan"], user=request.user, **fields)
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("行动项已添加。"))
                return redirect("plans:plan_detail", pk=item.plan_id)
    else:
        requested = request.GET.get("plan")
        if requested and plans.filter(pk=requested).exists():
            initial["plan"] = requested
        elif plans.count() >= 1:
            initial["plan"] = plans.first().pk
        if request.GET.get("kind") in ItemKind.values:
            initial["kind"] = request.GET["kind"]
        if request.GET.get("title"):
            initial["title"] = request.GET["title"][:200]
        form = ActionItemNewForm(initial=initial, plans=plans)
    return render(request, "plans/action_item_form.html", {"form": form, "item": None, "numbers": numbers})


def action_item_edit(request, pk: int):
    item = _item_for(request, pk)
    if not selectors.user_can_edit_plan(request.user, item.plan):
        raise PermissionDenied(_("只有草稿计划的起草部门可以修改行动项。"))
    if request.method == "POST":
        form = ActionItemForm(request.POST, instance=item)
        if form.is_valid():
            try:
                services.action_item_update(item=item, user=request.user, **form.item_fields())
            except ValidationError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("行动项已保存。"))
                return redirect("plans:action_item_detail", pk=item.pk)
    else:
        form = ActionItemForm(instance=item)
    return render(request, "plans/action_item_form.html", {"form": form, "item": item, "numbers": None})


def action_item_detail(request, pk: int, progress_form=None, pilot_form=None):
    item = _item_for(request, pk)
    can_progress = selectors.user_can_record_progress(request.user, item)
    notes = list(item.notes.select_related("author").order_by("-created_at", "-id"))
    latest_percent = notes[0].percent if notes else None
    if pilot_form is None and item.kind == ItemKind.PILOT:
        pilot_form = PilotResultForm(
            initial={
                "comparison_kind": item.comparison_kind or "pilot_vs_rest",
                "pilot_satisfied": item.pilot_satisfied,
                "pilot_n": item.pilot_n,
                "comparison_satisfied": item.comparison_satisfied,
                "comparison_n": item.comparison_n,
                "outcome": item.outcome,
                "outcome_reference": item.outcome_reference,
            }
        )
    context = {
        "item": item,
        "plan": item.plan,
        "notes": notes,
        "history": item.history.select_related("history_user").order_by("-history_date")[:20],
        "comparison": selectors.pilot_comparison(item=item) if item.kind == ItemKind.PILOT else None,
        "can_progress": can_progress,
        "can_edit": selectors.user_can_edit_plan(request.user, item.plan),
        "progress_form": progress_form or ProgressForm(initial={"status": item.status, "percent": latest_percent}),
        "pilot_form": pilot_form,
        "question_label": selectors.question_labels([item.question_code]).get(item.question_code, item.question_code),
        "overdue": selectors.item_is_overdue(item, today=timezone.localdate()),
    }
    return render(request, "plans/action_item_detail.html", context)


@require_POST
def action_item_progress(request, pk: int):
    item = _item_for(request, pk)
    form = ProgressForm(request.POST)
    if form.is_valid():
        try:
            services.action_item_progress_add(item=item, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("进展已记录。"))
            return redirect("plans:action_item_detail", pk=item.pk)
    return action_item_detail(request, pk, progress_form=form)


@require_POST
def action_item_pilot(request, pk: int):
    item = _item_for(request, pk)
    form = PilotResultForm(request.POST)
    if form.is_valid():
        try:
            services.action_item_pilot_record(item=item, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("试点结果已保存。"))
            return redirect("plans:action_item_detail", pk=item.pk)
    return action_item_detail(request, pk, pilot_form=form)


@require_POST
def action_item_promote(request, pk: int):
    item = _item_for(request, pk)
    try:
        services.action_item_promote(item=item, user=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, _("研究课题已转为改善项目。"))
    return redirect("plans:action_item_detail", pk=item.pk)


# ---- working groups --------------------------------------------------------------------------------------------

def group_list(request):
    today = timezone.localdate()
    groups = list(selectors.groups_in_order())
    for group in groups:
        group.active = selectors.group_is_active(group, today=today)
    return render(
        request,
        "plans/group_list.html",
        {"groups": groups, "may_edit": selectors.user_may_edit_groups(request.user)},
    )


def group_detail(request, pk: int, meeting_form=None, decision_forms=None):
    group = get_object_or_404(WorkingGroup, pk=pk)
    may_edit = selectors.user_may_edit_groups(request.user)
    meetings = selectors.group_meetings(group)
    for meeting in meetings:
        meeting.decision_form = (decision_forms or {}).get(meeting.pk) or DecisionForm(prefix=f"m{meeting.pk}")
    return render(
        request,
        "plans/group_detail.html",
        {
            "group": group,
            "members": group.members.order_by("username"),
            "active": selectors.group_is_active(group, today=timezone.localdate()),
            "items": selectors.group_items(group),
            "meetings": meetings,
            "may_edit": may_edit,
            "meeting_form": meeting_form or MeetingForm(initial={"held_on": timezone.localdate()}),
        },
        status=400 if (meeting_form is not None or decision_forms) else 200,
    )


def group_edit(request, pk: int | None = None):
    if not selectors.user_may_edit_groups(request.user):
        raise PermissionDenied(_("只有管理层和品牌客服专员可以维护管理小组。"))
    group = get_object_or_404(WorkingGroup, pk=pk) if pk else None
    form = WorkingGroupForm(request.POST or None, instance=group)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        members = data.pop("members")
        try:
            saved = services.group_save(user=request.user, group=group, members=members, **data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("管理小组已保存。"))
            return redirect("plans:group_detail", pk=saved.pk)
    status = 400 if form.is_bound else 200
    return render(request, "plans/group_form.html", {"form": form, "group": group}, status=status)


@require_POST
def group_meeting_add(request, pk: int):
    group = get_object_or_404(WorkingGroup, pk=pk)
    if not selectors.user_may_edit_groups(request.user):
        raise PermissionDenied(_("只有管理层和品牌客服专员可以维护管理小组。"))
    form = MeetingForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_add(user=request.user, group=group, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("会议已记录。"))
            return redirect("plans:group_detail", pk=group.pk)
    return group_detail(request, pk, meeting_form=form)


@require_POST
def group_decision_add(request, pk: int):
    meeting = get_object_or_404(GroupMeeting.objects.select_related("group"), pk=pk)
    if not selectors.user_may_edit_groups(request.user):
        raise PermissionDenied(_("只有管理层和品牌客服专员可以维护管理小组。"))
    form = DecisionForm(request.POST, prefix=f"m{meeting.pk}")
    if form.is_valid():
        try:
            services.decision_add(user=request.user, meeting=meeting, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("决议已记录。"))
            return redirect(f"{reverse('plans:group_detail', args=[meeting.group_id])}#meeting-{meeting.pk}")
    return group_detail(request, meeting.group_id, decision_forms={meeting.pk: form})
