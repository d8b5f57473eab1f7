"""Report pack and score-card PDFs for download. Thin: read the filters, check scope, render."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from dashboards.selectors import (
    dashboard_ports_for,
    dashboard_projects,
    dashboard_survey,
    dashboard_surveys,
    dashboard_user_may_enter,
)
from owners.stages import Stage
from reports.services import report_pack_pdf_cached, safe_filename, scorecard_pdf


class PackFilterForm(forms.Form):
    survey = forms.CharField(required=False, max_length=64)
    port = forms.CharField(required=False, max_length=16)
    stage = forms.ChoiceField(required=False, choices=[("", ""), *Stage.choices])


def _refuse(request, problems: list[str]):
    return render(request, "dashboards/bad_filter.html", {"problems": problems}, status=404)


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def _survey(request, form):
    code = form.cleaned_data["survey"]
    survey = dashboard_survey(code=code, surveys=dashboard_surveys())
    if survey is None:
        return None, [_("未找到调查“%(code)s”。") % {"code": code} if code else _("还没有调查数据。")]
    return survey, []


@require_GET
def pack_pdf(request):
    """The wave's report pack: the company section and every port the reader may see (``?port=`` one of them)."""
    if not dashboard_user_may_enter(request.user):
        raise PermissionDenied(_("您没有查看满意度看板的权限。"))
    form = PackFilterForm(request.GET)
    if not form.is_valid():
        return _refuse(request, [str(e) for errors in form.errors.values() for e in errors])
    survey, problems = _survey(request, form)
    if problems:
        return _refuse(request, problems)
    port = form.cleaned_data["port"] or None
    try:
        content = report_pack_pdf_cached(user=request.user, survey=survey, only_port=port)
    except LookupError as exc:
        raise Http404(str(exc)) from None
    except PermissionError as exc:
        raise PermissionDenied(str(exc)) from None
    return _pdf(content, safe_filename(f"report-pack-{survey.code}" + (f"-{port}" if port else ""), ".pdf"))


@require_GET
def project_scorecard_pdf(request, code: str):
    """A project's score card as PDF, beside the xlsx of the same panels."""
    if not dashboard_user_may_enter(request.user):
        raise PermissionDenied(_("您没有查看满意度看板的权限。"))
    form = PackFilterForm(request.GET)
    if not form.is_valid():
        return _refuse(request, [str(e) for errors in form.errors.values() for e in errors])
    project = next((p for p in dashboard_projects() if p.code == code), None)
    if project is None:
        return _refuse(request, [_("未找到楼盘“%(code)s”。") % {"code": code}])
    survey, problems = _survey(request, form)
    if problems:
        return _refuse(request, problems)
    content = scorecard_pdf(survey=survey, project=project, ports=dashboard_ports_for(request.user),
                            stage=form.cleaned_data["stage"])
    return _pdf(content, safe_filename(f"scorecard-{project.code}-{survey.code}", ".pdf"))
