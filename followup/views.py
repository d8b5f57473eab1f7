"""Pages of the follow-up tickets: the list, one ticket (assign, notes, status, the owner's contact), settings."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from departments.decorators import brand_service_required
from departments.ports import PORTS, port_label
from departments.selectors import user_has_any_role
from followup import selectors as sel
from followup.forms import (
    AlertRuleForm,
    PortSlaForm,
    TicketAssignForm,
    TicketFilterForm,
    TicketNoteForm,
    TicketStatusForm,
)
from followup.models import AlertRule, PortSla, TicketStatus
from followup.services import TRANSITIONS, port_sla_set, ticket_assign, ticket_note_add, ticket_transition
from owners.privacy import phone_reveal
from owners.selectors import user_may_reveal_phone


def _require_role(user) -> None:
    if not user_has_any_role(user):
        raise PermissionDenied("您的账户没有分配角色，无权访问。")


def ticket_list_view(request):
    _require_role(request.user)
    form = TicketFilterForm(request.GET or {"status": "open"})
    data = form.cleaned_data if form.is_valid() else {"status": "open"}
    view = data.get("view", "")
    qs = sel.ticket_list(
        user=request.user, status=data.get("status", ""), port=data.get("port", ""), mine=view == "mine",
        overdue_at=timezone.now() if view == "overdue" else None, unassigned=view == "unassigned",
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "followup/list.html", {"form": form, "page": page, "query": query.urlencode(),
                                                  "now": timezone.now()})


def _detail_context(request, ticket, **forms) -> dict:
    may_work = sel.user_may_work_ticket(request.user, ticket)
    context = {
        "ticket": ticket,
        "may_work": may_work,
        "may_reveal": bool(ticket.owner and ticket.owner.phone) and user_may_reveal_phone(request.user),
        "notes": ticket.notes.select_related("author").order_by("created_at", "id"),
        "history": ticket.history.select_related("history_user").order_by("-history_date")[:50],
        "overdue": ticket.status in (TicketStatus.NEW, TicketStatus.IN_PROGRESS) and ticket.due_at < timezone.now(),
        "revealed_phone": forms.pop("revealed_phone", None),
    }
    if may_work and ticket.is_open:
        context["assign_form"] = forms.get("assign_form") or TicketAssignForm(
            users=sel.ticket_assignable_users(ticket=ticket), initial={"assignee": ticket.assignee_id}
        )
        context["note_form"] = forms.get("note_form") or TicketNoteForm()
        if TRANSITIONS[ticket.status]:
            context["status_form"] = forms.get("status_form") or TicketStatusForm(current=ticket.status)
    return context


def ticket_detail_view(request, pk: int):
    ticket = sel.ticket_get_for_user(user=request.user, pk=pk)
    return render(request, "followup/detail.html", _detail_context(request, ticket))


def _worked_ticket(request, pk: int):
    """The ticket to act on: 404 if the user may not see it, 403 if they may see it but not work it."""
    ticket = sel.ticket_get_for_user(user=request.user, pk=pk)
    if not sel.user_may_work_ticket(request.user, ticket):
        raise PermissionDenied("只有责任部门、处理人或品牌客服专员可以处理此工单")
    return ticket


def _refused(request, ticket, exc: ValidationError, form, name: str):
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)
    return render(request, "followup/detail.html", _detail_context(request, ticket, **{name: form}), status=400)


@require_POST
def ticket_assign_view(request, pk: int):
    ticket = _worked_ticket(request, pk)
    form = TicketAssignForm(request.POST, users=sel.ticket_assignable_users(ticket=ticket))
    if not form.is_valid():
        return render(request, "followup/detail.html", _detail_context(request, ticket, assign_form=form), status=400)
    try:
        ticket_assign(ticket=ticket, assignee=form.cleaned_data["assignee"], by=request.user, now=timezone.now())
    except ValidationError as exc:
        return _refused(request, ticket, exc, form, "assign_form")
    messages.success(request, "已分派")
    return redirect("followup:detail", pk=ticket.pk)


@require_POST
def ticket_note_view(request, pk: int):
    ticket = _worked_ticket(request, pk)
    form = TicketNoteForm(request.POST)
    if not form.is_valid():
        return render(request, "followup/detail.html", _detail_context(request, ticket, note_form=form), status=400)
    try:
        ticket_note_add(ticket=ticket, text=form.cleaned_data["text"], by=request.user, now=timezone.now())
    except ValidationError as exc:
        return _refused(request, ticket, exc, form, "note_form")
    messages.success(request, "已记录跟进")
    return redirect("followup:detail", pk=ticket.pk)


@require_POST
def ticket_status_view(request, pk: int):
    ticket = _worked_ticket(request, pk)
    form = TicketStatusForm(request.POST, current=ticket.status)
    if not form.is_valid():
        return render(request, "followup/detail.html", _detail_context(request, ticket, status_form=form), status=400)
    try:
        ticket = ticket_transition(ticket=ticket, status=form.cleaned_data["status"], by=request.user,
                                   now=timezone.now(), reason=form.cleaned_data.get("reason", ""))
    except ValidationError as exc:
        return _refused(request, ticket, exc, form, "status_form")
    messages.success(request, f"工单已改为“{ticket.get_status_display()}”")
    return redirect("followup:detail", pk=ticket.pk)


@require_POST
def ticket_phone_view(request, pk: int):
    """Show the owner's full phone once, through the logged reveal (a PhoneAccessLog row per reveal)."""
    ticket = sel.ticket_get_for_user(user=request.user, pk=pk)
    if ticket.owner is None or not user_may_reveal_phone(request.user):
        raise PermissionDenied("无权查看完整电话号码")
    phone = phone_reveal(user=request.user, owner=ticket.owner, where=f"跟进工单 #{ticket.pk}",
                         ip_address=request.META.get("REMOTE_ADDR"), now=timezone.now())
    return render(request, "followup/detail.html", _detail_context(request, ticket, revealed_phone=phone))


@brand_service_required
def settings_view(request):
    """Per-port SLAs (one form per port) and the list of alert rules."""
    slas = {sla.port: sla for sla in PortSla.objects.all()}
    forms = []
    saved = False
    for port in PORTS:
        instance = slas.get(port) or PortSla(port=port)
        form = PortSlaForm(request.POST if request.method == "POST" else None, instance=instance, prefix=port)
        forms.append((port, port_label(port), form))
    if request.method == "POST":
        if all(form.is_valid() for _p, _l, form in forms):
            for port, _label, form in forms:
                port_sla_set(port=port, **form.cleaned_data)
            saved = True
        else:
            messages.error(request, "处理时限未保存：请修改标出的内容")
    if saved:
        messages.success(request, "处理时限已保存")
        return redirect("followup:settings")
    rules = AlertRule.objects.select_related("survey", "series").order_by("kind", "id")
    return render(request, "followup/settings.html", {"sla_forms": forms, "rules": rules})


@brand_service_required
def rule_edit_view(request, pk: int | None = None):
    rule = get_object_or_404(AlertRule, pk=pk) if pk else None
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "预警规则已保存")
        return redirect("followup:settings")
    return render(request, "followup/rule_form.html", {"form": form, "rule": rule})
