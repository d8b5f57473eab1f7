"""Owners' answering pages (public: the token is the key) and the staff's invitations page of a wave.

Thin views: the form validates, ``online.services`` writes, ``online.selectors`` reads.
"""

from __future__ import annotations

import csv
import io
import logging
import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.auth_events import client_ip
from core.ratelimit import rate_limits_hit
from core.spreadsheets.writing import safe_cell
from online.exports import CSV_COLUMNS, invitation_rows
from online.forms import InvitationIssueForm, OnlineAnswerForm
from online.models import SurveyInvitation
from online.selectors import (
    invitation_candidates,
    invitation_live_by_token,
    invitation_rates,
    invitations_recent,
    user_may_manage_invitations,
    user_may_see_invitation_rates,
)
from online.services import invitation_answer, invitation_opened, invitation_url, invitations_issue, invitations_revoke
from owners.models import Owner
from surveys.answers import answer_codes, decode_answers
from surveys.models import Survey
from surveys.selectors import response_comments, response_for_owner, survey_answer_questions, survey_comment_questions

logger = logging.getLogger(__name__)
POST_WINDOW_SECONDS = 3600


# --- Owners -----------------------------------------------------------------------------------------------------


def _live_invitation(token: str) -> SurveyInvitation:
    invitation = invitation_live_by_token(token=token)
    if invitation is None:
        raise Http404("unknown or revoked link")
    return invitation


def _closed(request, invitation: SurveyInvitation):
    return render(request, "online/closed.html", {"survey": invitation.survey})


def _stored_initial(invitation: SurveyInvitation, questions, comment_questions) -> dict[str, str]:
    response = response_for_owner(survey=invitation.survey, owner_id=invitation.owner_id)
    if response is None:
        return {}
    return OnlineAnswerForm.initial_for(
        questions=questions, comment_questions=comment_questions,
        scores=decode_answers(answer_codes(questions), response.answers), comments=response_comments(response=response),
    )  # fmt: skip


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    """The owner's questionnaire of the wave (DESIGN.md §4 "Answering online"): shows their current answers when
    they have answered already, and stores a valid post with channel online, dated today."""
    invitation = _live_invitation(token)
    survey = invitation.survey
    if survey.is_closed:
        return _closed(request, invitation)
    questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    if request.method == "POST":
        over = rate_limits_hit(
            scope="online-answer",
            limits=[
                ("token", invitation.token, settings.ONLINE_POSTS_PER_TOKEN),
                ("address", client_ip(request) or "-", settings.ONLINE_POSTS_PER_ADDRESS),
            ],
            window_seconds=POST_WINDOW_SECONDS,
        )
        if over:
            logger.warning("online answer held back limit=%s invitation=%s", ",".join(over), invitation.pk)
            return render(request, "online/too_many.html", {"survey": survey}, status=429)
        form = OnlineAnswerForm(request.POST, questions=questions, comment_questions=comment_questions)
        if form.is_valid():
            try:
                invitation_answer(invitation=invitation, scores=form.scores(), comments=form.comments())
            except SurveyInvitation.DoesNotExist:
                raise Http404("revoked meanwhile") from None
            except ValidationError as exc:
                if getattr(exc, "code", None) == "survey_closed" or Survey.objects.filter(
                    pk=survey.pk, closed_at__isnull=False
                ).exists():
                    return _closed(request, invitation)
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                return redirect("online:thanks", token=invitation.token)
    else:
        invitation_opened(invitation=invitation)
        form = OnlineAnswerForm(
            initial=_stored_initial(invitation, questions, comment_questions),
            questions=questions, comment_questions=comment_questions,
        )  # fmt: skip
    return render(request, "online/answer.html", {
        "survey": survey, "invitation": invitation, "form": form, "question_count": len(questions),
        "answered_count": form.answered_count(), "required_count": sum(1 for q in questions if q.required),
        "changing": invitation.answered_at is not None,
        "retention_years": max(1, round(settings.OWNER_RETENTION_DAYS / 365)),
    })


@login_not_required
@never_cache
@require_GET
def thanks(request, token: str):
    invitation = _live_invitation(token)
    return render(request, "online/thanks.html", {"survey": invitation.survey, "invitation": invitation})


# --- Staff ------------------------------------------------------------------------------------------------------


def _wave_for(request, code: str, *, manage: bool) -> Survey:
    allowed = user_may_manage_invitations(request.user) if manage else (
        user_may_manage_invitations(request.user) or user_may_see_invitation_rates(request.user)
    )
    if not allowed:
        raise PermissionDenied(_("只有品牌客服专员和管理层可以查看答卷邀请"))
    return get_object_or_404(Survey, code=code)


def _base(request) -> str:
    """Links carry the configured SITE_URL, else the address staff reached this page at."""
    return os.environ.get("SITE_URL") or request.build_absolute_uri("/")


@require_http_methods(["GET", "POST"])
def invitations(request, code: str):
    """The wave's links and live response rates; brand-service staff generate links here."""
    survey = _wave_for(request, code, manage=request.method == "POST")
    may_manage = user_may_manage_invitations(request.user)
    form = InvitationIssueForm(request.POST or None) if may_manage else None
    if request.method == "POST" and form.is_valid():
        if survey.is_closed:
            messages.error(request, _("调查已关闭，不能生成答卷链接"))
            return redirect("online:invitations", code=survey.code)
        scope, project = form.cleaned_data["scope"], form.cleaned_data.get("project")
        if scope == "units":
            owners = Owner.objects.filter(
                project=project, unit__in=form.cleaned_data["unit_list"], anonymised_at__isnull=True
            ).order_by("unit", "name", "id")
            found = set(owners.values_list("unit", flat=True))
            unknown = [unit for unit in form.cleaned_data["unit_list"] if unit not in found]
            if unknown:
                form.add_error("units", _("楼盘中没有这些房号：%(units)s") % {"units": "、".join(unknown[:20])})
        else:
            owners = invitation_candidates(survey=survey, project=project if scope == "project" else None)
        if form.is_valid():
            issued = invitations_issue(survey=survey, owners=owners, by=request.user)
            messages.success(request, _("已生成或沿用 %(n)d 个答卷链接") % {"n": len(issued)})
            return redirect("online:invitations", code=survey.code)
    rates = invitation_rates(survey=survey)
    recent = list(invitations_recent(survey=survey)) if may_manage else []
    for invitation in recent:
        invitation.url = invitation_url(invitation, base=_base(request))
    return render(request, "online/invitations.html", {
        "survey": survey, "form": form, "rates": rates, "recent": recent, "may_manage": may_manage,
    })


@require_POST
def invitations_revoke_view(request, code: str):
    """Void the chosen links (ids posted as ``invitation``)."""
    survey = _wave_for(request, code, manage=True)
    ids = [value for value in request.POST.getlist("invitation") if value.isdigit()]
    revoked = invitations_revoke(
        invitations=SurveyInvitation.objects.filter(survey=survey, pk__in=ids), by=request.user
    )
    messages.success(request, _("已作废 %(n)d 个链接") % {"n": revoked})
    return redirect("online:invitations", code=survey.code)


@require_GET
def invitations_download(request, code: str, fmt: str):
    """The pending links as csv or xlsx (cells neutralised against formulas)."""
    survey = _wave_for(request, code, manage=True)
    rows = [[safe_cell(value) for value in row] for row in invitation_rows(survey=survey, base=_base(request))]
    name = f"invitations-{survey.code}"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)
        response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt != "xlsx":
        raise Http404("unknown format")
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("答卷链接"))
    sheet.append([_("楼盘编码"), _("房号"), _("业主姓名"), _("答卷链接")])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response

