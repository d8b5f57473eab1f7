"""Pages of messages to owners: the staff's invitations-by-message and reminder page, QR-code PDFs and the
project poster; the owners' public project link (unit + last four digits) and stop link.

Thin views: forms validate, ``online.messaging`` / ``online.project_links`` write, selectors read.
"""

from __future__ import annotations

import logging
import os

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from core.auth_events import client_ip
from core.ratelimit import rate_limit_hit, rate_limit_reached
from online.messaging import invitations_send, owner_opt_out, owner_opted_out
from online.messaging_forms import InvitationSendForm, ProjectLinkForm, QrPrintForm, ReminderPolicyForm
from online.models import MessageChannel, MessageStatus, MessageTemplate, OutboundMessage, ReminderPolicy
from online.project_links import normalise_unit, project_link_for, project_link_identify, project_link_live
from online.qr import building_of, project_poster_pdf, qr_card, qr_labels_pdf, qr_sheets_pdf
from online.selectors import invitation_candidates, invitation_live_by_token, user_may_manage_invitations
from online.services import invitation_url, invitations_issue, site_url
from owners.models import Owner, Project
from owners.natural import natural
from surveys.models import Survey

logger = logging.getLogger("csm.online")


def _managed_wave(request, code: str) -> Survey:
    if not user_may_manage_invitations(request.user):
        raise PermissionDenied(_("只有品牌客服专员可以发送邀请和打印二维码"))
    return get_object_or_404(Survey, code=code)


def _base(request) -> str:
    """Links carry the configured SITE_URL, else the address staff reached this page at (as on the links page)."""
    return site_url(os.environ.get("SITE_URL") or request.build_absolute_uri("/"))


@require_http_methods(["GET", "POST"])
def messaging(request, code: str):
    """Send invitations by SMS or e-mail, set the wave's reminders, print QR codes; the record of what went out."""
    survey = _managed_wave(request, code)
    policy = ReminderPolicy.objects.filter(survey=survey).first() or ReminderPolicy(survey=survey, enabled=False)
    action = request.POST.get("action") if request.method == "POST" else None
    send_form = InvitationSendForm(request.POST if action == "send" else None, prefix="send")
    policy_form = ReminderPolicyForm(request.POST if action == "policy" else None, instance=policy, prefix="policy")
    if action == "send" and send_form.is_valid():
        if survey.is_closed:
            messages.error(request, _("调查已关闭，不能发送邀请"))
            return redirect("online:messaging", code=survey.code)
        scope, project = send_form.cleaned_data["scope"], send_form.cleaned_data.get("project")
        if scope == "units":
            wanted = send_form.cleaned_data["unit_list"]
            owners = list(
                Owner.objects.filter(project=project, unit__in=wanted, anonymised_at__isnull=True)
                .select_related("project").order_by("unit", "id")
            )
            unknown = [unit for unit in wanted if unit not in {owner.unit for owner in owners}]
            if unknown:
                send_form.add_error("units", _("楼盘中没有这些房号：%(units)s") % {"units": "、".join(unknown[:20])})
        else:
            owners = invitation_candidates(survey=survey, project=project if scope == "project" else None)
        if send_form.is_valid():
            counts = invitations_send(
                survey=survey, owners=owners, channel=send_form.cleaned_data["channel"], now=timezone.now(),
                by=request.user,
            )
            messages.success(request, _(
                "已排队发送 %(queued)d 条邀请；跳过：已答卷 %(answered)d、已退订 %(opted_out)d、无联系方式 %(no_address)d、"
                "已在队列中 %(pending)d"
            ) % counts)
            return redirect("online:messaging", code=survey.code)
    if action == "policy" and policy_form.is_valid():
        policy_form.save()
        messages.success(request, _("提醒计划已保存"))
        return redirect("online:messaging", code=survey.code)
    sent = OutboundMessage.objects.filter(survey=survey)
    return render(request, "online/messaging.html", {
        "survey": survey,
        "send_form": send_form,
        "policy_form": policy_form,
        "print_form": QrPrintForm(),
        "outcomes": [
            {"template": MessageTemplate(row["template"]).label, "channel": MessageChannel(row["channel"]).label,
             "status": MessageStatus(row["status"]).label, "n": row["n"]}
            for row in sent.values("template", "channel", "status").annotate(n=Count("id")).order_by(
                "template", "channel", "status"
            )
        ],
        "recent": sent.select_related("owner", "owner__project").order_by("-created_at", "-id")[:100],
        "poster_projects": list(survey.target_projects.order_by("code")) or list(Project.objects.order_by("code")),
        "quiet_start": settings.ONLINE_QUIET_START, "quiet_end": settings.ONLINE_QUIET_END,
    })


@require_GET
def qr_pdf(request, code: str):
    """QR codes of one project's un-answered owners (links issued on the way): a page each or labels by building."""
    survey = _managed_wave(request, code)
    form = QrPrintForm(request.GET)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("online:messaging", code=survey.code)
    project = form.cleaned_data["project"]
    owners = list(
        Owner.objects.filter(pk__in=[o.pk for o in invitation_candidates(survey=survey, project=project)])
        .select_related("project").order_by(natural("unit"), "name", "id")
    )
    building = form.cleaned_data["building"].strip()
    if building:
        owners = [owner for owner in owners if building_of(owner.unit) == building]
    if not owners:
        messages.error(request, _("该楼盘（楼栋）没有未答卷的业主"))
        return redirect("online:messaging", code=survey.code)
    invitations = invitations_issue(survey=survey, owners=owners, by=request.user)
    base = _base(request)
    cards = [
        qr_card(project_name=project.name, unit=i.owner.unit, owner_name=i.owner.name, url=invitation_url(i, base))
        for i in invitations
    ]
    layout = form.cleaned_data["layout"]
    pdf = (qr_labels_pdf if layout == "labels" else qr_sheets_pdf)(survey_name=survey.name, cards=cards)
    logger.info("qr %s printed survey=%s project=%s owners=%s by=%s", layout, survey.code, project.code, len(cards),
                request.user.get_username())
    answer = HttpResponse(pdf, content_type="application/pdf")
    part = f"-{slugify(building) or 'b'}" if building else ""
    answer["Content-Disposition"] = f'attachment; filename="qr-{survey.code}-{project.code}{part}-{layout}.pdf"'
    return answer


@require_GET
def project_poster(request, code: str, project_code: str):
    """The notice-board poster of a project in a wave, with the project link's QR code."""
    survey = _managed_wave(request, code)
    project = get_object_or_404(Project, code=project_code)
    link = project_link_for(survey=survey, project=project, now=timezone.now())
    url = _base(request) + reverse("online:project_link", args=[link.token])
    answer = HttpResponse(project_poster_pdf(survey_name=survey.name, project_name=project.name, url=url),
                          content_type="application/pdf")
    answer["Content-Disposition"] = f'attachment; filename="poster-{survey.code}-{project.code}.pdf"'
    return answer


# --- Owners (public) ----------------------------------------------------------------------------------------------


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def project_link(request, token: str):
    """Unit + last four digits of the phone on file → the owner's personal page. Every wrong answer looks the same
    and counts against the client address (and the unit typed), whether or not the unit exists."""
    link = project_link_live(token=token)
    if link is None:
        raise Http404("unknown or revoked project link")
    survey = link.survey
    if survey.is_closed:
        return render(request, "online/closed.html", {"survey": survey})
    form = ProjectLinkForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        window = settings.ONLINE_PROJECT_LINK_WINDOW
        address = client_ip(request) or "-"
        unit_key = f"{link.pk}:{normalise_unit(form.cleaned_data['unit']).casefold()}"
        limits = [("address", address, settings.ONLINE_PROJECT_LINK_LIMIT), ("unit", unit_key, 5)]
        if any(rate_limit_reached(scope=f"online-project:{name}", key=key, limit=limit, window_seconds=window)
               for name, key, limit in limits):
            logger.warning("project link held back link=%s", link.pk)
            return render(request, "online/too_many.html", {"survey": survey}, status=429)
        invitation = project_link_identify(
            link=link, unit=form.cleaned_data["unit"], last_four=form.cleaned_data["last_four"], now=timezone.now()
        )
        if invitation is not None:
            return redirect("online:answer", token=invitation.token)
        for name, key, limit in limits:
            rate_limit_hit(scope=f"online-project:{name}", key=key, limit=limit, window_seconds=window)
        form.add_error(None, _("房号或手机号后四位不正确，请核对后重试；如有疑问请联系物业客服。"))
        status = 400
    return render(request, "online/project_link.html", {"survey": survey, "project": link.project, "form": form},
                  status=status)


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def stop(request, token: str):
    """The stop link in every message: confirm with the button (a link preview's GET changes nothing)."""
    invitation = invitation_live_by_token(token=token)
    if invitation is None:
        raise Http404("unknown or revoked link")
    done = owner_opted_out(invitation.owner)
    if request.method == "POST" and not done:
        owner_opt_out(owner=invitation.owner, now=timezone.now())
        done = True
    return render(request, "online/stop.html", {"survey": invitation.survey, "done": done})
