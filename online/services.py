"""Writes of online answering: issuing and revoking owners' personal links, marking them opened, and storing an
owner's answer through the surveys app's one write path for a questionnaire (``response_submit``)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from online.models import SurveyInvitation
from owners.models import Owner
from surveys.models import Channel, Response, Survey
from surveys.services import response_submit

DEFAULT_SITE_URL = "http://127.0.0.1:8000"
# 24 random bytes: 32 URL-safe characters, 192 bits; nobody finds a live link by trying.
TOKEN_BYTES = 24


def token_new() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def site_url(base: str | None = None) -> str:
    """The site's public address for owners' links: ``base``, else the ``SITE_URL`` environment variable (read at
    call time, so that a command run with it set uses it), else http://127.0.0.1:8000."""
    return (base or os.environ.get("SITE_URL") or DEFAULT_SITE_URL).rstrip("/")


def invitation_url(invitation: SurveyInvitation, base: str | None = None) -> str:
    """The absolute link an owner opens (``online:answer``)."""
    return site_url(base) + reverse("online:answer", args=[invitation.token])


def invitations_issue(
    *, survey: Survey, owners: Iterable[Owner], by=None, now: datetime | None = None
) -> list[SurveyInvitation]:
    """A live invitation for each owner of ``owners`` in this wave: the owner's existing live one (never a second
    token), else a new one. Returns them in the order of ``owners`` (each owner once)."""
    now = now or timezone.now()
    owner_ids = list(dict.fromkeys(owner.pk for owner in owners))
    live = _live_by_owner(survey, owner_ids)
    missing = [owner_id for owner_id in owner_ids if owner_id not in live]
    if missing:
        user = by if getattr(by, "pk", None) else None
        # A concurrent issue for the same owner loses on the partial unique index and is skipped; the re-read below
        # then returns the winner's token, so both callers hand out the same link.
        SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(survey=survey, owner_id=owner_id, token=token_new(), created_at=now, created_by=user)
                for owner_id in missing
            ],
            batch_size=500,
            ignore_conflicts=True,
        )
        live = _live_by_owner(survey, owner_ids)
    return [live[owner_id] for owner_id in owner_ids if owner_id in live]


def _live_by_owner(survey: Survey, owner_ids: list[int]) -> dict[int, SurveyInvitation]:
    found: dict[int, SurveyInvitation] = {}
    for start in range(0, len(owner_ids), 900):  # SQLite's bound-parameter limit
        chunk = owner_ids[start:start + 900]
        for invitation in SurveyInvitation.objects.filter(survey=survey, owner_id__in=chunk, revoked_at__isnull=True):
            found[invitation.owner_id] = invitation
    return found


def invitation_revoke(*, invitation: SurveyInvitation, by=None, now: datetime | None = None) -> SurveyInvitation:
    """Void a link: it answers 404 from now on. The owner's stored answer stays. Revoking twice keeps the first time."""
    if invitation.revoked_at is None:
        invitation.revoked_at = now or timezone.now()
        invitation.revoked_by = by if getattr(by, "pk", None) else None
        SurveyInvitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
            revoked_at=invitation.revoked_at, revoked_by=invitation.revoked_by
        )
    return invitation


def invitations_revoke(*, invitations: Iterable[SurveyInvitation], by=None, now: datetime | None = None) -> int:
    """Void several links at once; how many were live."""
    ids = [invitation.pk for invitation in invitations]
    user = by if getattr(by, "pk", None) else None
    return SurveyInvitation.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now(), revoked_by=user
    )


def invitation_opened(*, invitation: SurveyInvitation, now: datetime | None = None) -> None:
    """Note the first time the owner opened the link (one conditional UPDATE; later opens write nothing)."""
    if invitation.opened_at is None:
        invitation.opened_at = now or timezone.now()
        SurveyInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=invitation.opened_at)


def online_questionnaire_no(*, owner: Owner) -> str:
    """The questionnaire number of an answer given online: one per owner, so a changed answer keeps its number."""
    return f"online-{owner.pk}"


def invitation_answer(
    *,
    invitation: SurveyInvitation,
    scores: dict[str, int | None],
    comments: Mapping[str, str] | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> Response:
    """Store (or replace) the invited owner's response to the invitation's wave, as answered today online.

    The invitation decides owner and wave; nothing posted can point elsewhere. The surveys app checks required
    items, a closed wave and writes history; its ValidationError passes through. A link revoked meanwhile raises
    ``SurveyInvitation.DoesNotExist``.
    """
    now = now or timezone.now()
    today = today or timezone.localdate(now)
    with transaction.atomic():
        locked = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk, revoked_at__isnull=True)
        owner = invitation.owner
        existing = Response.objects.filter(survey_id=locked.survey_id, owner_id=locked.owner_id).values_list(
            "questionnaire_no", flat=True
        ).first()
        response, _created = response_submit(
            survey=invitation.survey,
            owner=owner,
            questionnaire_no=existing or online_questionnaire_no(owner=owner),
            surveyed_on=today,
            scores=scores,
            channel=Channel.ONLINE,
            comments=comments,
            # The invitation row locked above serialises this owner's posts, and the questionnaire number is the
            # owner's own: answers of different owners need not wait for each other, only for a closing.
            shared_lock=True,
        )
        locked.answered_at = locked.answered_at or now
        locked.last_answered_at = now
        locked.privacy_accepted_at = locked.privacy_accepted_at or now
        locked.opened_at = locked.opened_at or now
        locked.response = response
        locked.save(update_fields=["answered_at", "last_answered_at", "privacy_accepted_at", "opened_at", "response"])
    invitation.answered_at, invitation.last_answered_at = locked.answered_at, locked.last_answered_at
    invitation.privacy_accepted_at, invitation.opened_at = locked.privacy_accepted_at, locked.opened_at
    invitation.response = response
    return response
