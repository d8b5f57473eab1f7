"""The links of a wave as rows to hand out (DESIGN.md §4 ``survey_invitations``): the command and the staff's
downloads write the same rows."""

from __future__ import annotations

from online.selectors import invitation_candidates
from online.services import invitation_url, invitations_issue
from owners.models import Project
from surveys.models import Survey

CSV_COLUMNS = ("project_code", "unit", "owner_name", "url")


def invitation_rows(*, survey: Survey, project: Project | None = None, base: str | None = None,
                    issue: bool = False, by=None) -> list[list[str]]:
    """[project_code, unit, owner_name, url] of each owner of ``project`` (or of the wave's projects) who has not
    answered the wave yet. ``issue``: give a link to those who have none (an existing live link is reused);
    otherwise only owners already holding a live link are listed."""
    owners = invitation_candidates(survey=survey, project=project)
    if issue:
        invitations = invitations_issue(survey=survey, owners=owners, by=by)
    else:
        from online.models import SurveyInvitation

        live = {
            i.owner_id: i
            for i in SurveyInvitation.objects.filter(survey=survey, revoked_at__isnull=True).only("id", "owner_id", "token")
        }
        invitations = [live[o.pk] for o in owners if o.pk in live]
    by_owner = {owner.pk: owner for owner in owners}
    return [
        [by_owner[i.owner_id].project.code, by_owner[i.owner_id].unit, by_owner[i.owner_id].name, invitation_url(i, base=base)]
        for i in invitations
    ]
