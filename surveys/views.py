"""The data-in pages for brand-service staff: 录入问卷 (keyed entry) and 导入 (file imports with their history).

Thin views: forms validate, ``surveys.services`` and ``surveys.importer`` write, selectors read.
"""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from departments.decorators import brand_service_required
from owners.models import Owner
from owners.selectors import owners_search
from owners.stages import stage_as_of, stage_label
from surveys.answers import answer_codes, decode_answers
from surveys.forms import ResponseEntryForm, ResponsesUploadForm, UploadForm
from surveys.models import ImportJob, Response, Survey
from surveys.selectors import (
    import_jobs_recent,
    owners_with_response,
    response_comments,
    response_for_owner,
    response_history,
    survey_answer_questions,
    survey_comment_questions,
    survey_date_outside_period,
    survey_default_date,
    survey_latest,
    surveys_for_entry,
)
from surveys.services import response_submit

SEARCH_LIMIT = 20
ERRORS_PER_PAGE = 500
FINISHED = {ImportJob.Status.SUCCEEDED, ImportJob.Status.FAILED, ImportJob.Status.UNCHANGED}
SESSION_DEFAULTS = "entry_defaults"


# --- 录入问卷 ----------------------------------------------------------------------------------------------------


def _entry_survey(request) -> Survey | None:
    """The survey asked for, else the one last keyed into, else the latest."""
    code = request.POST.get("survey") or request.GET.get("survey") or request.session.get(SESSION_DEFAULTS, {}).get("survey")
    if code:
        survey = Survey.objects.filter(code=code).first()
        if survey is not None:
            return survey
    return survey_latest()


def _entry_url(survey: Survey, **params) -> str:
    return f"{reverse('surveys:entry')}?{urlencode({'survey': survey.code, **params})}"


def _stage_label(owner: Owner | None, surveyed_on: date | None) -> str:
    if owner is None or surveyed_on is None:
        return ""
    return stage_label(stage_as_of(owner.move_in_date, surveyed_on))


def _add_service_errors(form, exc: ValidationError) -> None:
    """Errors raised by response_submit land next to their field (or above the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _save(request, form: ResponseEntryForm, *, survey: Survey, owner: Owner):
    """Submit a valid form; on success remember date and channel for the next questionnaire and go back to search."""
    try:
        response, created = response_submit(
            survey=survey,
            owner=owner,
            questionnaire_no=form.cleaned_data["questionnaire_no"],
            surveyed_on=form.cleaned_data["surveyed_on"],
            scores=form.scores(),
            channel=form.cleaned_data["channel"],
            comments=form.comments(),
        )
    except ValidationError as exc:
        _add_service_errors(form, exc)
        return None
    request.session[SESSION_DEFAULTS] = {
        "survey": survey.code,
        "surveyed_on": form.cleaned_data["surveyed_on"].isoformat(),
        "channel": form.cleaned_data["channel"],
    }
    verb = _("已新增") if created else _("已更新")
    messages.success(
        request,
        _("%(verb)s问卷 %(no)s（%(project)s %(owner)s，%(stage)s）。可以录入下一份。")
        % {
            "verb": verb,
            "no": response.questionnaire_no,
            "project": owner.project.name,
            "owner": owner,
            "stage": response.get_stage_display(),
        },
    )
    return redirect(_entry_url(survey))


@brand_service_required
@require_http_methods(["GET", "POST"])
def entry(request):
    survey = _entry_survey(request)
    surveys = surveys_for_entry()
    if survey is None:
        return render(request, "surveys/entry.html", {"survey": None, "surveys": surveys})
    owner = None
    owner_id = request.POST.get("owner") or request.GET.get("owner")
    if owner_id:
        if not str(owner_id).isdigit():
            raise Http404
        owner = get_object_or_404(Owner.objects.select_related("project"), pk=owner_id)
        existing = response_for_owner(survey=survey, owner_id=owner.pk)
        if existing is not None and request.method == "GET":
            messages.info(
                request,
                _("业主 %(owner)s 在“%(survey)s”中已有答卷 %(no)s，已为你打开编辑，不会新增第二份。")
                % {"owner": owner, "survey": survey.name, "no": existing.questionnaire_no},
            )
            return redirect("surveys:response_edit", pk=existing.pk)
    questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    owner_missing = False
    if request.method == "POST":
        form = ResponseEntryForm(
            request.POST, survey=survey, questions=questions, owner=owner, comment_questions=comment_questions
        )
        owner_missing = owner is None
        if form.is_valid() and not owner_missing:
            saved = _save(request, form, survey=survey, owner=owner)
            if saved is not None:
                return saved
    else:
        defaults = request.session.get(SESSION_DEFAULTS, {})
        form = ResponseEntryForm(
            initial={
                "surveyed_on": _default_date(survey, defaults),
                "channel": defaults.get("channel", "paper"),
            },
            survey=survey,
            questions=questions,
            owner=owner,
            comment_questions=comment_questions,
        )
    query = request.GET.get("q", "").strip()
    context = {
        "survey": survey,
        "surveys": surveys,
        "owner": owner,
        "owner_missing": owner_missing,
        "form": form,
        "stage_label": _stage_label(owner, _form_date(form)),
        "outside_period": form.date_outside_period(),
        "query": query,
        **(_search_context(survey=survey, query=query) if query and owner is None else {}),
    }
    return render(request, "surveys/entry.html", context, status=400 if form.is_bound else 200)


def _default_date(survey: Survey, defaults: dict) -> str:
    """The date keyed last in this wave when it lies in the wave's period, else a day of the period (today while
    the wave is in the field): never silently a date outside it."""
    today = timezone.localdate()
    if defaults.get("survey") == survey.code and defaults.get("surveyed_on"):
        try:
            last = date.fromisoformat(defaults["surveyed_on"])
        except ValueError:
            last = None
        if last is not None and last <= today and not survey_date_outside_period(survey=survey, surveyed_on=last):
            return last.isoformat()
    return survey_default_date(survey=survey, today=today).isoformat()


def _form_date(form: ResponseEntryForm) -> date | None:
    if form.is_bound:
        return form.cleaned_data.get("surveyed_on") if hasattr(form, "cleaned_data") else None
    value = form.initial.get("surveyed_on")
    return date.fromisoformat(value) if isinstance(value, str) else value


def _search_context(*, survey: Survey, query: str) -> dict:
    owners = list(owners_search(query=query)[: SEARCH_LIMIT + 1])
    more = len(owners) > SEARCH_LIMIT
    owners = owners[:SEARCH_LIMIT]
    answered = owners_with_response(survey=survey, owner_ids=[o.pk for o in owners])
    return {"results": [(o, o.pk in answered) for o in owners], "more": more, "searched": True}


@brand_service_required
@require_GET
def owner_search(request):
    """htmx: the owners matching what has been typed so far, as links that select them."""
    survey = _entry_survey(request)
    query = request.GET.get("q", "").strip()
    context = {"survey": survey, "query": query}
    if survey is not None and query:
        context |= _search_context(survey=survey, query=query)
    return render(request, "surveys/_owner_results.html", context)


@brand_service_required
@require_GET
def stage_preview(request):
    """htmx: the stage this response will freeze, for the owner and the survey date being typed."""
    owner = None
    owner_id = request.GET.get("owner", "")
    if owner_id.isdigit():
        owner = Owner.objects.filter(pk=owner_id).first()
    try:
        surveyed_on = date.fromisoformat(request.GET.get("surveyed_on", ""))
    except ValueError:
        surveyed_on = None
    survey = Survey.objects.filter(code=request.GET.get("survey", "")).first()
    outside = survey is not None and surveyed_on is not None and survey_date_outside_period(
        survey=survey, surveyed_on=surveyed_on
    )
    return render(
        request,
        "surveys/_stage.html",
        {"owner": owner, "stage_label": _stage_label(owner, surveyed_on), "date_invalid": surveyed_on is None,
         "outside_period": outside, "survey": survey},
    )


@brand_service_required
@require_http_methods(["GET", "POST"])
def response_edit(request, pk: int):
    """An existing response opened for editing, with who changed what and when."""
    response = get_object_or_404(Response.objects.select_related("survey", "owner__project"), pk=pk)
    survey, owner = response.survey, response.owner
    questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    if request.method == "POST":
        form = ResponseEntryForm(
            request.POST, survey=survey, questions=questions, owner=owner, comment_questions=comment_questions
        )
        if form.is_valid():
            saved = _save(request, form, survey=survey, owner=owner)
            if saved is not None:
                return saved
    else:
        scores = decode_answers(answer_codes(questions), response.answers)
        form = ResponseEntryForm(
            initial={
                "questionnaire_no": response.questionnaire_no,
                "surveyed_on": response.surveyed_on.isoformat(),
                "channel": response.channel,
                **ResponseEntryForm.initial_for(questions=questions, scores=scores),
                **ResponseEntryForm.initial_comments(response_comments(response=response)),
            },
            survey=survey,
            questions=questions,
            owner=owner,
            comment_questions=comment_questions,
        )
    context = {
        "survey": survey,
        "owner": owner,
        "response": response,
        "form": form,
        "stage_label": _stage_label(owner, _form_date(form)),
        "outside_period": form.date_outside_period(),
        "history": response_history(response=response),
    }
    return render(request, "surveys/response_edit.html", context, status=400 if form.is_bound else 200)


# --- 导入 --------------------------------------------------------------------------------------------------------


def upload_start(request, form, *, kind: str, survey: Survey | None):
    """Refuse the file before any parsing (nothing written), else store it as a job and show the job page.

    Returns the redirect, or None with the refusals added to the form's file field.
    """
    from surveys.importer import upload_check
    from surveys.services import import_job_start

    upload = form.cleaned_data["file"]
    data = upload.read()
    refusals = upload_check(file_name=upload.name, data=data)
    if not refusals:
        try:
            job = import_job_start(kind=kind, survey=survey, data=data, file_name=upload.name, user=request.user)
        except ValidationError as exc:
            if "survey" in form.fields and any(error.code == "survey_closed" for error in exc.error_list):
                form.add_error("survey", exc.messages)
                return None
            refusals = exc.messages
        else:
            return redirect("surveys:import_job", pk=job.pk)
    for refusal in refusals:
        form.add_error("file", refusal)
    return None


@brand_service_required
@require_http_methods(["GET", "POST"])
def import_responses(request):
    surveys = surveys_for_entry()
    chosen = surveys.filter(code=request.GET.get("survey", "")).first() or survey_latest()
    form = ResponsesUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        surveys=surveys,
        initial={"survey": chosen.pk if chosen else None},
    )
    if request.method == "POST" and form.is_valid():
        started = upload_start(request, form, kind=ImportJob.Kind.RESPONSES, survey=form.cleaned_data["survey"])
        if started is not None:
            return started
    return render(
        request,
        "surveys/import_upload.html",
        {"form": form, "surveys": surveys},
        status=400 if form.is_bound and form.errors else 200,
    )


@brand_service_required
@require_GET
def import_template(request):
    """The survey's import template: one column per question, headed by its Chinese label."""
    from surveys.importer import response_template_xlsx

    survey = get_object_or_404(Survey, code=request.GET.get("survey", ""))
    response = HttpResponse(
        response_template_xlsx(survey=survey),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, f"问卷导入模板-{survey.code}.xlsx")
    return response


def _job_context(request, job: ImportJob) -> dict:
    from surveys.importing.jobs import import_job_live_progress, import_kind

    finished = job.status in FINISHED
    job.progress = import_job_live_progress(job)
    kind = import_kind(job.kind)
    context = {"job": job, "finished": finished, "again_url": reverse(kind.upload_url) if kind else None}
    if finished and job.errors:
        from surveys.importing.jobs import MAX_STORED_ERRORS

        paginator = Paginator(job.errors, ERRORS_PER_PAGE)
        context["error_page"] = paginator.get_page(request.GET.get("page"))
        # The job keeps only the first errors of a hopeless file; its message says how many there were.
        context["errors_truncated"] = len(job.errors) >= MAX_STORED_ERRORS
    return context


@brand_service_required
@require_GET
def import_job(request, pk: int):
    job = get_object_or_404(import_jobs_recent(), pk=pk)
    return render(request, "surveys/import_job.html", _job_context(request, job))


@brand_service_required
@require_GET
def import_job_progress(request, pk: int):
    """htmx, every 500 ms while the job runs: the bar; once finished, the outcome (which no longer polls)."""
    job = get_object_or_404(import_jobs_recent(), pk=pk)
    return render(request, "surveys/_import_progress.html", _job_context(request, job))


@brand_service_required
@require_GET
def import_job_errors(request, pk: int):
    """The uploaded workbook's errors as an Excel file to fix and upload again."""
    from surveys.importer import ImportIssue, import_errors_xlsx

    job = get_object_or_404(import_jobs_recent(), pk=pk)
    if not job.errors or not job.file:
        raise Http404
    with job.file.open("rb") as stored:
        data = stored.read()
    issues = [ImportIssue(row=e.get("row"), column=e.get("column"), value=e.get("value"), reason=e.get("reason")) for e in job.errors]
    content = import_errors_xlsx(data=data, file_name=job.file_name, errors=issues)
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    stem = job.file_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-错误.xlsx")
    return response


@brand_service_required
@require_GET
def import_history(request):
    from surveys.importing.jobs import import_kinds

    page = Paginator(import_jobs_recent(), 50).get_page(request.GET.get("page"))
    uploads = [(kind.upload_label, reverse(kind.upload_url)) for kind in import_kinds()]
    return render(request, "surveys/import_history.html", {"page": page, "finished": FINISHED, "uploads": uploads})


@brand_service_required
@require_http_methods(["GET", "POST"])
def owners_import(request):
    """Upload the owner roster; the job page shows its progress and outcome."""
    posted = request.method == "POST"
    form = UploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        started = upload_start(request, form, kind=ImportJob.Kind.OWNERS, survey=None)
        if started is not None:
            return started
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "owners/owner_import.html", {"form": form}, status=status)
