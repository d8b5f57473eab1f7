"""Pages of the research bases: feedback records, callback plans, external survey reports, feedback evidence."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from core.logging import mask_phones
from departments.ports import PORTS, port_label, ports_in_order
from departments.selectors import ports_owned_by, ports_visible_to, user_has_any_role, user_may_enter_data
from feedback import selectors as sel
from feedback.forms import (
    BenchmarkForm,
    BenchmarkImportForm,
    BenchmarkRowForm,
    CallbackFilterForm,
    CallbackForm,
    CallbackInlineForm,
    CallbackRuleForm,
    CommentThemeForm,
    FeedbackFilterForm,
    FeedbackForm,
    FeedbackPeriodForm,
    UploadForm,
)
from feedback.importing import (
    BENCHMARK_COLUMNS,
    FEEDBACK_COLUMNS,
    benchmark_import,
    feedback_template_xlsx,
)
from feedback.models import CallbackRule, CommentTheme, ExternalBenchmark, FeedbackKind
from feedback.services import (
    benchmark_create,
    benchmark_row_add,
    callback_record,
    feedback_create,
    feedback_update,
)
from feedback.themes import port_themes, theme_keywords
from owners.models import Owner, Project
from owners.privacy import phone_reveal
from owners.selectors import owners_search, user_may_reveal_phone
from surveys.models import ImportJob, Survey
from surveys.selectors import survey_latest
from surveys.views import upload_start


def _require_keeper(user) -> None:
    if not user_may_enter_data(user):
        raise PermissionDenied("只有品牌客服专员可以录入")


def research_topic_url(*, port: str, title: str) -> str | None:
    """Link to a new research-topic action item in the improvement plans, if that page exists."""
    try:
        base = reverse("plans:action_item_new")
    except NoReverseMatch:
        return None
    return f"{base}?{urlencode({'port': port, 'title': title, 'kind': 'research'})}"


def _require_role(user) -> None:
    if not user_has_any_role(user):
        raise PermissionDenied("您的账户没有分配角色，无权访问。")


def _survey_from(request) -> Survey | None:
    code = request.GET.get("survey")
    if code:
        return Survey.objects.filter(code=code).first()
    return survey_latest()


# --- feedback --------------------------------------------------------------------------------------------------


def feedback_list_view(request):
    visible = ports_visible_to(request.user)
    form = FeedbackFilterForm(request.GET or None, visible_ports=visible)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    qs = sel.feedback_list(user=request.user, **{k: v for k, v in filters.items() if v})
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/list.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "can_edit": user_may_enter_data(request.user),
            "ports": [(code, port_label(code)) for code in ports_in_order(visible)],
        },
    )


def feedback_new_view(request):
    _require_keeper(request.user)
    today = timezone.localdate()
    if request.method == "POST":
        form = FeedbackForm(request.POST, today=today)
        if form.is_valid():
            try:
                feedback = feedback_create(created_by=request.user, **form.service_fields())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"已记录{feedback.get_kind_display()}（{feedback.project.name} · {feedback.get_port_display()}）")
                if "save_and_new" in request.POST:
                    return redirect("feedback:new")
                return redirect("feedback:detail", pk=feedback.pk)
    else:
        form = FeedbackForm(
            initial={"received_on": today, "kind": request.GET.get("kind", FeedbackKind.COMPLAINT), "port": request.GET.get("port", "")},
            today=today,
        )
    return render(request, "feedback/form.html", {"form": form, "title": "录入客户反馈"})


def feedback_edit_view(request, pk: int):
    _require_keeper(request.user)
    feedback = sel.feedback_get_for_user(user=request.user, pk=pk)
    today = timezone.localdate()
    if request.method == "POST":
        form = FeedbackForm(request.POST, today=today)
        if form.is_valid():
            try:
                feedback_update(feedback=feedback, **form.service_fields())
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, "已保存修改")
                return redirect("feedback:detail", pk=feedback.pk)
    else:
        form = FeedbackForm(
            initial={
                "kind": feedback.kind,
                "project": feedback.project_id,
                "unit": feedback.unit,
                "owner": feedback.owner_id,
                "owner_name": feedback.owner.name if feedback.owner else "",
                "port": feedback.port,
                "received_on": feedback.received_on,
                "severity": feedback.severity,
                "status": feedback.status,
                "closed_on": feedback.closed_on,
                "description": feedback.description,
            },
            today=today,
        )
    return render(request, "feedback/form.html", {"form": form, "title": "修改客户反馈", "feedback": feedback})


OWNER_PICKER_LIMIT = 20


def feedback_owner_search_view(request):
    """htmx: owners of the roster matching what was typed (unit, name or phone digits), within the chosen project."""
    _require_keeper(request.user)
    query = request.GET.get("owner_name", "").strip()
    project = request.GET.get("project", "")
    owners = []
    if query:
        owners = list(owners_search(query=query, project_id=int(project) if project.isdigit() else None)[
            : OWNER_PICKER_LIMIT + 1
        ])
    return render(request, "feedback/_owner_picker.html", {
        "owners": owners[:OWNER_PICKER_LIMIT], "more": len(owners) > OWNER_PICKER_LIMIT, "query": query,
    })


def feedback_detail_view(request, pk: int):
    feedback = sel.feedback_get_for_user(user=request.user, pk=pk)
    history = feedback.history.select_related("history_user").order_by("-history_date")[:20]
    # The title travels in a URL (and into a plan): a phone typed into the description is masked first (PIPL).
    title = f"{feedback.project.name}{feedback.get_kind_display()}：{mask_phones(feedback.description)[:30]}"
    return render(
        request,
        "feedback/detail.html",
        {
            "feedback": feedback,
            "history": history,
            "can_edit": user_may_enter_data(request.user),
            "research_url": research_topic_url(port=feedback.port, title=title),
        },
    )


def feedback_import_view(request):
    """Upload a feedback file: it runs as a background import job, whose page shows progress, outcome and errors."""
    _require_keeper(request.user)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        started = upload_start(request, form, kind=ImportJob.Kind.FEEDBACK, survey=None)
        if started is not None:
            return started
    return render(
        request,
        "feedback/import.html",
        {"form": form, "columns": FEEDBACK_COLUMNS, "title": "导入客户反馈", "kinds": FeedbackKind.choices},
        status=400 if form.is_bound and form.errors else 200,
    )


def feedback_import_template_view(request):
    """The blank feedback file (Chinese headers, an example row, drop-down lists)."""
    _require_keeper(request.user)
    code = Project.objects.order_by("code").values_list("code", flat=True).first()
    response = HttpResponse(
        feedback_template_xlsx(**({"project_code": code} if code else {})),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, "客户反馈导入模板.xlsx")
    return response


def feedback_port_view(request, port: str):
    if port not in PORTS:
        raise Http404("未知端口")
    if port not in ports_visible_to(request.user):
        raise PermissionDenied("无权查看该端口")
    survey = _survey_from(request)
    form = FeedbackPeriodForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    evidence = sel.feedback_port_evidence(
        port=port, survey=survey, received_from=filters.get("received_from"), received_to=filters.get("received_to")
    )
    label = port_label(port)
    top = max(evidence.projects, key=lambda p: p.complaints_per_100 or 0, default=None)
    research_url = None
    if top is not None and top.complaints:
        research_url = research_topic_url(port=port, title=f"{top.name}{label}投诉率偏高的原因")
    return render(
        request,
        "feedback/port.html",
        {
            "port": port,
            "port_label": label,
            "survey": survey,
            "surveys": Survey.objects.order_by("-starts_on", "-id"),
            "form": form,
            "evidence": evidence,
            "kinds": FeedbackKind.choices,
            "research_url": research_url,
            "benchmarks": sel.benchmarks_for_port(port=port, survey=survey),
        },
    )


# --- callbacks -------------------------------------------------------------------------------------------------


CALLBACKS_PER_PAGE = 30


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _safe_next(request, default: str) -> str:
    """Where to go back to: a local callback-list URL carried by the form (filters and page kept), else default."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    base = reverse("feedback:callbacks")
    return target if target.startswith(base) and "//" not in target else default


def callback_due_view(request):
    _require_keeper(request.user)
    today = timezone.localdate()
    filters = CallbackFilterForm(request.GET or None)
    project = filters.cleaned_data.get("project") if filters.is_valid() else None
    stage = filters.cleaned_data.get("stage", "") if filters.is_valid() else ""
    due_from, due_to = filters.due_range(today)
    rows = sel.callback_due_list(today=today, project=project, stage=stage, due_from=due_from, due_to=due_to)
    page = Paginator(rows, CALLBACKS_PER_PAGE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row.inline_form = CallbackInlineForm(owner_id=row.owner.pk, rule_id=row.rule.pk)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "feedback/callbacks.html",
        {
            "rows": page.object_list,
            "page": page,
            "total": len(rows),
            "filters": filters,
            "query": query.urlencode(),
            "here": request.get_full_path(),
            "today": today,
            "rules": sel.callback_rules_active(),
            "recent": sel.callbacks_recent(),
            "may_edit_rules": True,
        },
    )


@require_POST
def callback_phone_view(request, owner_id: int):
    """Reveal one owner's full number to dial (the permission ``owners.view_full_phone``; a PhoneAccessLog row).
    With htmx the phone cell is swapped in place; without JS the record page opens with the number shown."""
    _require_keeper(request.user)
    owner = get_object_or_404(Owner.objects.select_related("project"), pk=owner_id)
    phone = phone_reveal(
        user=request.user,
        owner=owner,
        where=f"回访计划 {reverse('feedback:callbacks')}",
        ip_address=request.META.get("REMOTE_ADDR"),
        now=timezone.now(),
    )
    revealed = bool(owner.phone) and user_may_reveal_phone(request.user)
    if _is_htmx(request):
        return render(request, "feedback/_phone_cell.html", {"owner": owner, "phone": phone, "revealed": revealed})
    return _callback_record_page(request, owner, phone=phone)


def _callback_record_page(request, owner: Owner, *, phone: str | None = None, form=None, status: int = 200):
    rule = CallbackRule.objects.filter(pk=request.GET.get("rule") or request.POST.get("rule") or 0).first()
    due_on = sel.callback_due_on_for(owner, rule) if rule else None
    form = form or CallbackForm(initial={"called_on": timezone.localdate()})
    return render(
        request,
        "feedback/callback_form.html",
        {
            "form": form,
            "owner": owner,
            "rule": rule,
            "due_on": due_on,
            "phone": phone,
            "next": _safe_next(request, reverse("feedback:callbacks")),
        },
        status=status,
    )


def callback_record_view(request, owner_id: int):
    _require_keeper(request.user)
    owner = get_object_or_404(Owner.objects.select_related("project"), pk=owner_id)
    if request.method != "POST":
        return _callback_record_page(request, owner)
    rule = CallbackRule.objects.filter(pk=request.POST.get("rule") or 0).first()
    due_on = sel.callback_due_on_for(owner, rule) if rule else None
    today = timezone.localdate()
    form = CallbackForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            callback = callback_record(
                owner=owner,
                rule=rule,
                due_on=due_on,
                called_on=data["called_on"],
                outcome=data["outcome"],
                notes=data["notes"],
                scores=form.scores(),
                issue_port=data["issue_port"],
                issue_description=data["issue_description"],
                called_by=request.user,
                today=today,
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            text = f"已记录对 {owner.unit} {owner.name} 的回访（{callback.get_outcome_display()}）"
            if callback.response_id:
                text += "，评分已计入回访触点调查"
            if _is_htmx(request):
                return render(request, "feedback/_callback_done_row.html", {"callback": callback, "text": text})
            messages.success(request, text)
            return redirect(_safe_next(request, reverse("feedback:callbacks")))
    if _is_htmx(request):
        # Keep what was typed in the row; say what is wrong beside it.
        errors = [str(error) for errors in form.errors.values() for error in errors]
        response = HttpResponse("；".join(errors), status=200)
        response["HX-Retarget"] = f"#callback-msg-{owner.pk}-{rule.pk if rule else 0}"
        response["HX-Reswap"] = "innerHTML"
        return response
    return _callback_record_page(request, owner, form=form, status=400)


def callback_rules_view(request):
    """Brand-service staff keep the callback rules (which months, which window, run-in owners or 准业主)."""
    _require_keeper(request.user)
    rule = None
    if request.GET.get("edit"):
        rule = CallbackRule.objects.filter(pk=request.GET["edit"] if request.GET["edit"].isdigit() else 0).first()
    if request.method == "POST":
        if request.POST.get("id"):
            rule = get_object_or_404(CallbackRule, pk=request.POST["id"] if request.POST["id"].isdigit() else 0)
        form = CallbackRuleForm(request.POST, instance=rule)
        if form.is_valid():
            saved = form.save()
            messages.success(request, f"已保存回访规则“{saved.name}”")
            return redirect("feedback:callback_rules")
        status = 400
    else:
        form = CallbackRuleForm(instance=rule)
        status = 200
    return render(
        request,
        "feedback/callback_rules.html",
        {"form": form, "rule": rule, "rules": sel.callback_rules_all()},
        status=status,
    )


# --- comment themes --------------------------------------------------------------------------------------------


def _may_edit_themes(user, port: str) -> bool:
    """Brand-service staff, and the head of the department owning the port."""
    return user_may_enter_data(user) or port in ports_owned_by(user)


def comment_themes_view(request, port: str):
    """A port's theme lexicon: anyone who sees the port reads it; brand-service staff and the port's owning
    head add, change and remove themes."""
    if port not in PORTS:
        raise Http404("没有这个端口")
    if port not in ports_visible_to(request.user):
        raise PermissionDenied("无权查看该端口")
    may_edit = _may_edit_themes(request.user, port)
    theme = None
    edit_id = request.POST.get("id") or request.GET.get("edit") or ""
    if edit_id:
        theme = get_object_or_404(CommentTheme, port=port, pk=edit_id if edit_id.isdigit() else 0)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("只有品牌客服专员和该端口的责任部门负责人可以修改主题词库")
        if request.POST.get("delete") and theme is not None:
            name = theme.name
            theme.delete()
            messages.success(request, f"已删除主题“{name}”")
            return redirect("feedback:themes", port=port)
        form = CommentThemeForm(request.POST, instance=theme, port=port)
        if form.is_valid():
            saved = form.save()
            messages.success(request, f"已保存主题“{saved.name}”")
            return redirect("feedback:themes", port=port)
        status = 400
    else:
        form = CommentThemeForm(instance=theme, port=port)
    return render(
        request,
        "feedback/themes.html",
        {
            "port": port,
            "port_label": port_label(port),
            "themes": [(t, theme_keywords(t.name, t.keywords)) for t in port_themes(port=port)],
            "form": form,
            "theme": theme,
            "may_edit": may_edit,
        },
        status=status,
    )


# --- external survey reports -----------------------------------------------------------------------------------


def benchmark_list_view(request):
    _require_role(request.user)
    survey = _survey_from(request)
    benchmarks = list(sel.benchmarks_in_order())
    return render(
        request,
        "feedback/benchmarks.html",
        {
            "benchmarks": benchmarks,
            "survey": survey,
            "surveys": Survey.objects.order_by("-starts_on", "-id"),
            "headline": sel.benchmarks_for_port(port=None, survey=survey),
            "can_edit": user_may_enter_data(request.user),
        },
    )


def benchmark_detail_view(request, pk: int):
    _require_role(request.user)
    benchmark = get_object_or_404(ExternalBenchmark, pk=pk)
    survey = _survey_from(request)
    can_edit = user_may_enter_data(request.user)
    row_form = BenchmarkRowForm(request.POST or None)
    if request.method == "POST":
        _require_keeper(request.user)
        if row_form.is_valid():
            try:
                benchmark_row_add(benchmark=benchmark, **row_form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    row_form.add_error(field if field in row_form.fields else None, errors)
            else:
                messages.success(request, "已添加一行结果")
                return redirect("feedback:benchmark_detail", pk=benchmark.pk)
    return render(
        request,
        "feedback/benchmark_detail.html",
        {
            "benchmark": benchmark,
            "survey": survey,
            "surveys": Survey.objects.order_by("-starts_on", "-id"),
            "comparisons": sel.benchmark_comparisons(benchmark=benchmark, survey=survey, user=request.user),
            "row_form": row_form if can_edit else None,
        },
    )


def benchmark_new_view(request):
    _require_keeper(request.user)
    form = BenchmarkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            benchmark = benchmark_create(created_by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, "已建立外部调查报告，请逐行添加结果")
            return redirect("feedback:benchmark_detail", pk=benchmark.pk)
    return render(request, "feedback/benchmark_form.html", {"form": form, "title": "录入外部调查报告"})


def benchmark_import_view(request):
    _require_keeper(request.user)
    form = BenchmarkImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data["file"]
        benchmark, result = benchmark_import(
            data=upload.read(),
            file_name=upload.name,
            name=data["name"],
            source=data["source"],
            report_on=data["report_on"],
            notes=data["notes"],
            created_by=request.user,
        )
        if benchmark is not None:
            messages.success(request, f"已导入 {result.created} 行外部调查结果")
            return redirect("feedback:benchmark_detail", pk=benchmark.pk)
    return render(
        request,
        "feedback/benchmark_form.html",
        {"form": form, "result": result, "columns": BENCHMARK_COLUMNS, "title": "导入外部调查报告", "upload": True},
    )
