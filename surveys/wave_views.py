"""The wave pages for brand-service staff (调查管理): waves, their sample frame and response rate, opening and
closing them, series, versioned questionnaires, and the raw questionnaires of a wave with their export.

Thin views: forms validate, ``surveys.services`` writes, ``surveys.selectors`` reads.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from departments.decorators import brand_service_required
from departments.selectors import user_may_enter_data, user_sees_company_wide
from owners.stages import Stage
from surveys.models import Questionnaire, Response, Survey, SurveySeries
from surveys.selectors import (
    ResponseQuery,
    questionnaire_is_frozen,
    questionnaire_items,
    questionnaires_in_order,
    response_history,
    responses_filter,
    series_in_order,
    survey_answer_questions,
    survey_comment_questions,
    survey_comments,
    survey_has_responses,
    survey_questions,
    survey_response_rates,
    survey_responses,
)
from surveys.services import (
    questionnaire_copy,
    questionnaire_save,
    series_create,
    series_update,
    survey_close,
    survey_create,
    survey_reopen,
    survey_update,
)
from surveys.wave_forms import (
    ItemFormSet,
    QuestionnaireCopyForm,
    QuestionnaireNameForm,
    ResponseFilterForm,
    SeriesForm,
    WaveForm,
    item_formset_helper,
    item_initial,
)

RESPONSES_PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _service_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _wave(code: str) -> Survey:
    return get_object_or_404(
        Survey.objects.select_related("series", "questionnaire", "closed_by").prefetch_related("target_projects"),
        code=code,
    )


# --- Waves --------------------------------------------------------------------------------------------------------


@brand_service_required
@require_GET
def wave_list(request):
    waves = (
        Survey.objects.select_related("series", "questionnaire")
        .annotate(response_count=Count("responses"))
        .order_by("series__position", "-starts_on", "-created_at")
    )
    series = request.GET.get("series", "")
    if series:
        waves = waves.filter(series__code=series)
    return render(request, "surveys/waves/list.html", {
        "waves": waves, "series": series_in_order(), "chosen_series": series,
    })


@brand_service_required
@require_http_methods(["GET", "POST"])
def wave_create(request):
    initial = {"series": SurveySeries.objects.filter(code=request.GET.get("series", "")).first()}
    copy_from = request.GET.get("questionnaire")
    if copy_from and copy_from.isdigit():
        initial["questionnaire"] = Questionnaire.objects.filter(pk=copy_from).first()
    form = WaveForm(request.POST or None, initial={k: v for k, v in initial.items() if v})
    if request.method == "POST" and form.is_valid():
        try:
            survey = survey_create(**form.service_arguments())
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("已创建调查“%(name)s”，共 %(n)d 道题。") % {
                "name": survey.name, "n": survey.questions.count()})
            return redirect("surveys:wave", code=survey.code)
    return render(request, "surveys/waves/form.html", {"form": form, "survey": None},
                  status=400 if form.is_bound and form.errors else 200)


@brand_service_required
@require_http_methods(["GET", "POST"])
def wave_edit(request, code: str):
    survey = _wave(code)
    locked = survey_has_responses(survey=survey)
    form = WaveForm(request.POST or None, initial=WaveForm.initial_for(survey), locked_questionnaire=locked)
    if request.method == "POST" and form.is_valid():
        try:
            survey = survey_update(survey=survey, **form.service_arguments())
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("已保存调查“%(name)s”。") % {"name": survey.name})
            return redirect("surveys:wave", code=survey.code)
    return render(request, "surveys/waves/form.html", {"form": form, "survey": survey},
                  status=400 if form.is_bound and form.errors else 200)


@brand_service_required
@require_GET
def wave_detail(request, code: str):
    survey = _wave(code)
    questions = survey_questions(survey=survey)
    return render(request, "surveys/waves/detail.html", {
        "survey": survey,
        "questions": questions,
        "rates": survey_response_rates(survey=survey),
        "stage_labels": [(code, Stage(code).label) for code in survey.target_stages if code in Stage.values],
        "response_count": Response.objects.filter(survey=survey).count(),
        "imports": survey.imports.select_related("created_by").order_by("-created_at")[:5],
    })


@brand_service_required
@require_POST
def wave_close(request, code: str):
    survey = survey_close(survey=_wave(code), user=request.user)
    messages.success(request, _("调查“%(name)s”已关闭：录入、导入、在线填写和接口都不再接受新的或修改的答卷。") % {
        "name": survey.name})
    return redirect("surveys:wave", code=survey.code)


@brand_service_required
@require_POST
def wave_reopen(request, code: str):
    survey = survey_reopen(survey=_wave(code))
    messages.success(request, _("调查“%(name)s”已重新开放，可以继续录入和导入。") % {"name": survey.name})
    return redirect("surveys:wave", code=survey.code)


@require_GET
def response_rate_panel(request, code: str):
    """htmx: the wave's response rate by project (the overview's panel, loaded after the cached page)."""
    if not (user_sees_company_wide(request.user) or user_may_enter_data(request.user)):
        raise PermissionDenied(_("您没有查看应答率的权限。"))
    survey = _wave(code)
    return render(request, "surveys/waves/_rate_panel.html", {
        "survey": survey, "rates": survey_response_rates(survey=survey),
        "may_manage": user_may_enter_data(request.user),
    })


# --- Raw questionnaires -------------------------------------------------------------------------------------------


def _filtered(request, survey: Survey):
    questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    form = ResponseFilterForm(request.GET or None, survey=survey, questions=questions,
                              has_comments=bool(comment_questions))
    responses = survey_responses(survey=survey)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        query = ResponseQuery(
            project_id=data["project"].pk if data.get("project") else None,
            stage=data.get("stage") or "",
            channel=data.get("channel") or "",
            item=data.get("item") or "",
            min_score=data.get("min_score"),
            max_score=data.get("max_score"),
            comment=(data.get("comment") or "").strip(),
        )
        responses = responses_filter(responses, survey=survey, query=query)
    elif form.is_bound:
        responses = responses.none()
    return form, responses, questions, comment_questions


@brand_service_required
@require_GET
def wave_responses(request, code: str):
    """The raw questionnaires of a wave (procedure §5.2 research base): filter, read, open one with its history."""
    from surveys.answers import decode_answers

    survey = _wave(code)
    form, responses, questions, comment_questions = _filtered(request, survey)
    page = Paginator(responses, RESPONSES_PER_PAGE).get_page(request.GET.get("page"))
    codes = [q.code for q in questions]
    comments = survey_comments(survey=survey, response_ids=[r.pk for r in page]) if comment_questions else {}
    rows = [
        {"response": r, "scores": [decode_answers(codes, r.answers)[c] for c in codes],
         "comments": [comments.get(r.pk, {}).get(q.code, "") for q in comment_questions]}
        for r in page
    ]
    query = request.GET.copy()
    query.pop("page", None)
    chosen = request.GET.get("open", "")
    opened = None
    if chosen.isdigit():
        opened = Response.objects.filter(survey=survey, pk=chosen).select_related("owner", "project").first()
    return render(request, "surveys/waves/responses.html", {
        "survey": survey, "form": form, "page": page, "rows": rows, "questions": questions,
        "comment_questions": comment_questions, "query": query.urlencode(), "total": page.paginator.count,
        "opened": opened, "history": response_history(response=opened) if opened else None,
    })


@brand_service_required
@require_GET
def wave_responses_xlsx(request, code: str):
    """The (filtered) raw questionnaires as an xlsx in the import format: importing it again changes nothing."""
    from surveys.importing.workbooks import responses_export_xlsx

    survey = _wave(code)
    form, responses, _questions, _comments = _filtered(request, survey)
    content = responses_export_xlsx(survey=survey, responses=responses)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="responses-{_ascii(survey.code)}.xlsx"'
    return response


def _ascii(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


# --- Series -------------------------------------------------------------------------------------------------------


@brand_service_required
@require_http_methods(["GET", "POST"])
def series_list(request):
    form = SeriesForm(request.POST or None)
    if request.method == "POST" and "toggle" in request.POST:
        series = get_object_or_404(SurveySeries, pk=request.POST.get("toggle"))
        series_update(series=series, name=series.name, is_active=not series.is_active)
        messages.success(request, (_("已启用系列“%(name)s”。") if series.is_active else _("已停用系列“%(name)s”。"))
                         % {"name": series.name})
        return redirect("surveys:series")
    if request.method == "POST" and form.is_valid():
        try:
            series = series_create(**form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("已添加系列“%(name)s”。") % {"name": series.name})
            return redirect("surveys:series")
    series = series_in_order().annotate(wave_count=Count("surveys"))
    return render(request, "surveys/waves/series.html", {"form": form, "series": series},
                  status=400 if form.is_bound and form.errors else 200)


# --- Questionnaires -----------------------------------------------------------------------------------------------


@brand_service_required
@require_GET
def questionnaire_list(request):
    return render(request, "surveys/questionnaires/list.html", {"questionnaires": questionnaires_in_order()})


@brand_service_required
@require_http_methods(["GET", "POST"])
def questionnaire_new(request, pk: int):
    """A new questionnaire copied from version ``pk`` (the standard one, say), then edited."""
    source = get_object_or_404(Questionnaire, pk=pk)
    form = QuestionnaireCopyForm(request.POST or None, initial={"name": _("%(name)s（副本）") % {"name": source.name}})
    if request.method == "POST" and form.is_valid():
        try:
            copy = questionnaire_copy(source=source, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("已复制为新问卷“%(name)s”，可以在下面增删和修改题目。") % {"name": copy.name})
            return redirect("surveys:questionnaire", pk=copy.pk)
    return render(request, "surveys/questionnaires/new.html", {"form": form, "source": source},
                  status=400 if form.is_bound and form.errors else 200)


@brand_service_required
@require_http_methods(["GET", "POST"])
def questionnaire_edit(request, pk: int):
    """Edit a version's name and items. A frozen version is not changed: saving makes the next version."""
    questionnaire = get_object_or_404(Questionnaire.objects.select_related("based_on", "created_by"), pk=pk)
    frozen = questionnaire_is_frozen(questionnaire=questionnaire)
    items = questionnaire_items(questionnaire=questionnaire)
    posted = request.method == "POST"
    name_form = QuestionnaireNameForm(request.POST if posted else None, initial={"name": questionnaire.name})
    formset = ItemFormSet(request.POST if posted else None, initial=item_initial(items), prefix="items")
    problems: list[str] = []
    if posted and name_form.is_valid() and formset.is_valid():
        if "more" in request.POST:
            # Two more empty rows, keeping everything typed so far (no JavaScript needed).
            data = request.POST.copy()
            data["items-TOTAL_FORMS"] = str(int(data.get("items-TOTAL_FORMS", 0)) + 2)
            formset = ItemFormSet(data, prefix="items")
            formset.is_valid()
            name_form = QuestionnaireNameForm(data)
            name_form.is_valid()
        else:
            try:
                saved = questionnaire_save(questionnaire=questionnaire, name=name_form.cleaned_data["name"],
                                           items=formset.items(), user=request.user)
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {"items": exc.messages}
                problems = errors.get("items", [])
                for message in errors.get("name", []):
                    name_form.add_error("name", message)
            else:
                if saved.pk != questionnaire.pk:
                    messages.success(request, _(
                        "版本 %(old)d 已被有答卷的调查使用，未作修改；修改已保存为新版本 %(new)d，供以后的调查使用。"
                    ) % {"old": questionnaire.version, "new": saved.version})
                else:
                    messages.success(request, _("已保存问卷“%(name)s”（v%(version)d）。") % {
                        "name": saved.name, "version": saved.version})
                return redirect("surveys:questionnaire", pk=saved.pk)
    waves = (
        Survey.objects.filter(questionnaire=questionnaire)
        .annotate(answered=Exists(Response.objects.filter(survey=OuterRef("pk"))))
        .order_by("-starts_on", "code")
    )
    versions = Questionnaire.objects.filter(code=questionnaire.code).order_by("-version")
    status = 400 if posted and (problems or name_form.errors or not formset.is_valid()) else 200
    return render(request, "surveys/questionnaires/edit.html", {
        "questionnaire": questionnaire, "frozen": frozen, "name_form": name_form, "formset": formset,
        "helper": item_formset_helper(), "problems": problems, "waves": waves, "versions": versions,
        "new_wave_url": f"{reverse('surveys:wave_create')}?questionnaire={questionnaire.pk}",
    }, status=status)
