"""Reads of online answering: a link by its token, whom a wave may still invite, the links to hand out, and the
wave's live response rates (invited / opened / answered per project, stage and day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from departments.selectors import user_may_enter_data, user_sees_company_wide
from online.models import SurveyInvitation
from owners.models import Owner, Project
from owners.stages import STAGES, stage_as_of, stage_label
from surveys.models import Response, Survey
from surveys.selectors import survey_period_start

TOKEN_MAX_LENGTH = 64


# --- Scope ----------------------------------------------------------------------------------------------------
#
# Links are keys to owners' questionnaires: only brand-service staff issue, revoke and download them. Company-wide
# roles (management, the committee) read the response rates.


def user_may_manage_invitations(user) -> bool:
    return user_may_enter_data(user)


def user_may_see_invitation_rates(user) -> bool:
    return user_sees_company_wide(user)


# --- Links ----------------------------------------------------------------------------------------------------


def invitation_live_by_token(*, token: str) -> SurveyInvitation | None:
    """The live invitation with this token, with its wave and owner; None for an unknown, altered or revoked one,
    and for an owner anonymised since (their personal data is gone; nobody answers in their name)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return (
        SurveyInvitation.objects.select_related("survey", "owner", "owner__project")
        .filter(token=token, revoked_at__isnull=True, owner__anonymised_at__isnull=True)
        .first()
    )


def invitation_candidates(*, survey: Survey, project: Project | None = None) -> list[Owner]:
    """Owners of ``project`` (or of the wave's target projects, every project when it names none) who have not
    answered the wave yet, in the wave's target stages when it names some (stage as of its period start);
    anonymised owners are never invited. Ordered by project code, unit and name."""
    owners = Owner.objects.filter(anonymised_at__isnull=True).select_related("project")
    if project is not None:
        owners = owners.filter(project=project)
    else:
        target_ids = list(survey.target_projects.values_list("id", flat=True))
        if target_ids:
            owners = owners.filter(project_id__in=target_ids)
    owners = owners.exclude(Exists(Response.objects.filter(survey=survey, owner=OuterRef("pk"))))
    owners = owners.order_by("project__code", "unit", "name", "id")
    stages = set(survey.target_stages or ())
    if not stages or stages >= set(STAGES):
        return list(owners)
    as_of = survey_period_start(survey)
    return [owner for owner in owners if stage_as_of(owner.move_in_date, as_of) in stages]


def invitations_live(*, survey: Survey, project: Project | None = None, pending_only: bool = False):
    """The wave's live links with owner and project, by project code, unit and name; ``pending_only`` keeps
    those of owners who have not answered yet."""
    invitations = SurveyInvitation.objects.filter(survey=survey, revoked_at__isnull=True).select_related(
        "owner", "owner__project"
    )
    if project is not None:
        invitations = invitations.filter(owner__project=project)
    if pending_only:
        invitations = invitations.exclude(
            Exists(Response.objects.filter(survey=survey, owner=OuterRef("owner_id")))
        )
    return invitations.order_by("owner__project__code", "owner__unit", "owner__name", "id")


def invitations_recent(*, survey: Survey, limit: int = 50) -> QuerySet[SurveyInvitation]:
    """The wave's invitations, live and revoked, newest first (for the staff page's list)."""
    return (
        SurveyInvitation.objects.filter(survey=survey)
        .select_related("owner", "owner__project")
        .annotate(answered=Exists(Response.objects.filter(survey=survey, owner=OuterRef("owner_id"))))
        .order_by("-created_at", "-id")[:limit]
    )


# --- Live response rates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationCell:
    project_code: str  # "" = every project
    project_name: str
    stage: str  # "" = every stage
    invited: int
    opened: int
    answered: int

    @property
    def stage_label(self) -> str:
        return stage_label(self.stage) if self.stage else ""

    @property
    def opened_rate(self) -> float | None:
        return self.opened / self.invited if self.invited else None

    @property
    def answered_rate(self) -> float | None:
        return self.answered / self.invited if self.invited else None


@dataclass(frozen=True)
class InvitationDay:
    day: date
    invited: int  # links issued that day
    opened: int  # links first opened that day
    answered: int  # invited owners whose response arrived that day
    answered_to_date: int


@dataclass
class InvitationRates:
    total: InvitationCell
    projects: list[InvitationCell]
    stages: list[InvitationCell]
    cells: list[InvitationCell]
    days: list[InvitationDay]


def invitation_rates(*, survey: Survey) -> InvitationRates:
    """Invited (owners with a live link), opened (of those, who opened it) and answered (of those, who have a
    response in the wave, by any channel) per project, stage (as of the wave's period start, like its sample frame),
    project × stage and day. One query over the live links."""
    from django.db.models import Subquery

    first_response = Response.objects.filter(survey=survey, owner=OuterRef("owner_id")).values("created_at")[:1]
    rows = (
        SurveyInvitation.objects.filter(survey=survey, revoked_at__isnull=True)
        .order_by()
        .annotate(responded_at=Subquery(first_response))
        .values_list(
            "owner__project__code", "owner__project__name", "owner__move_in_date",
            "created_at", "opened_at", "answered_at", "responded_at",
        )
    )  # fmt: skip
    as_of = survey_period_start(survey)
    counts: dict[tuple[str, str], list[int]] = {}
    names: dict[str, str] = {}
    days: dict[date, list[int]] = {}
    for code, name, move_in, created_at, opened_at, answered_at, responded_at in rows:
        names[code] = name
        stage = stage_as_of(move_in, as_of)
        cell = counts.setdefault((code, stage), [0, 0, 0])
        cell[0] += 1
        days.setdefault(timezone.localdate(created_at), [0, 0, 0])[0] += 1
        if opened_at is not None or responded_at is not None:
            cell[1] += 1
            first_open = opened_at or responded_at
            days.setdefault(timezone.localdate(first_open), [0, 0, 0])[1] += 1
        if responded_at is not None:
            cell[2] += 1
            # An answer given through the link is dated by the link; one keyed in or imported, by the response.
            days.setdefault(timezone.localdate(answered_at or responded_at), [0, 0, 0])[2] += 1

    def cell_of(code: str, stage: str, keys) -> InvitationCell:
        totals = [sum(counts[k][i] for k in keys if k in counts) for i in range(3)]
        return InvitationCell(code, names.get(code, ""), stage, *totals)

    codes = sorted(names)
    every = list(counts)
    answered_to_date = 0
    series = []
    for day in sorted(days):
        invited, opened, answered = days[day]
        answered_to_date += answered
        series.append(InvitationDay(day, invited, opened, answered, answered_to_date))
    return InvitationRates(
        total=cell_of("", "", every),
        projects=[cell_of(code, "", [k for k in every if k[0] == code]) for code in codes],
        stages=[cell_of("", stage, [k for k in every if k[1] == stage]) for stage in STAGES
                if any(k[1] == stage for k in every)],
        cells=[cell_of(code, stage, [(code, stage)]) for code in codes for stage in STAGES if (code, stage) in counts],
        days=series,
    )
