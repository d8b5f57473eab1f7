"""The public link of a project in a wave (the notice-board QR code, ``/o/p/<token>/``): an owner names their unit
and the last four digits of the phone on file and continues to their personal invitation.

A wrong answer must not tell whether the unit exists: ``project_link_identify`` does the same work either way
(one query, a constant-time comparison against a stand-in when nobody lives there) and the page says the same.
"""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata
from datetime import datetime

from django.db import IntegrityError, transaction

from online.models import ProjectLink, SurveyInvitation
from online.services import invitations_issue
from owners.models import Owner, Project
from surveys.models import Survey

TOKEN_BYTES = 18
_NO_PHONE = "\0\0\0\0"  # never equal to four digits typed


def normalise_unit(text: str) -> str:
    """Full-width to half-width, spaces out, dashes unified: "１－２－３０１ " → "1-2-301"."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    text = re.sub(r"\s+", "", text)
    return re.sub(r"[‐‑‒–—－~～_]", "-", text)[:32]


def project_link_for(*, survey: Survey, project: Project, now: datetime) -> ProjectLink:
    """The live public link of ``project`` in ``survey``, made on first ask (the same link printed again)."""
    link = ProjectLink.objects.filter(survey=survey, project=project, revoked_at__isnull=True).first()
    if link:
        return link
    try:
        with transaction.atomic():
            return ProjectLink.objects.create(
                survey=survey, project=project, token=secrets.token_urlsafe(TOKEN_BYTES), created_at=now
            )
    except IntegrityError:  # made meanwhile by another request
        return ProjectLink.objects.get(survey=survey, project=project, revoked_at__isnull=True)


def project_link_live(*, token: str) -> ProjectLink | None:
    if not token or len(token) > 64:
        return None
    return ProjectLink.objects.select_related("survey", "project").filter(token=token, revoked_at__isnull=True).first()


def _last_four(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else _NO_PHONE


def project_link_identify(*, link: ProjectLink, unit: str, last_four: str, now: datetime) -> SurveyInvitation | None:
    """The owner's live invitation for the link's wave when ``unit`` and ``last_four`` match an owner of the
    project on file; None otherwise, whatever was wrong. Anonymised owners never match (their phone is gone)."""
    typed = unicodedata.normalize("NFKC", last_four or "").strip()
    candidates = list(
        Owner.objects.filter(project_id=link.project_id, unit__iexact=normalise_unit(unit), anonymised_at__isnull=True)
        .order_by("id")
        .only("id", "phone")
    )
    found = None
    for owner in candidates or [None]:
        on_file = _last_four(owner.phone) if owner is not None else _NO_PHONE
        if hmac.compare_digest(on_file.encode(), typed.encode()) and owner is not None and found is None:
            found = owner
    if found is None:
        return None
    return invitations_issue(survey=link.survey, owners=[found], now=now)[0]
