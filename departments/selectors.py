"""Who may see what: the one place that turns a user's roles and departments into visible ports.

Pages, API views, exports and dashboards all ask here; nothing else decides port visibility.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from departments.models import Department, Port, PortCode, Role

ALL_PORTS = frozenset(PortCode.values)
COMPANY_WIDE_ROLES = frozenset({Role.BRAND_SERVICE, Role.MANAGEMENT, Role.COMMITTEE})


def user_roles(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_csm_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._csm_roles = cached
    return cached


def user_has_role(user, role: str) -> bool:
    return user.is_authenticated and (role in user_roles(user))


def user_sees_company_wide(user) -> bool:
    """Management, the committee, brand-service staff and administrators see every port."""
    return user.is_authenticated and (user.is_superuser or bool(user_roles(user) & COMPANY_WIDE_ROLES))


def departments_headed_by(user) -> QuerySet[Department]:
    if not user.is_authenticated:
        return Department.objects.none()
    return Department.objects.filter(memberships__user=user, memberships__is_head=True).order_by("code")


def ports_owned_by(user) -> frozenset[str]:
    """Ports whose plan this user answers for: ports owned by a department they head."""
    if not user_has_role(user, Role.DEPARTMENT_HEAD):
        return frozenset()
    return frozenset(Port.objects.filter(owner__in=departments_headed_by(user)).values_list("code", flat=True))


def ports_visible_to(user) -> frozenset[str]:
    """Ports whose detail this user may see: all for company-wide roles; owned or monitored ports for a head."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_csm_ports", None)
    if cached is not None:
        return cached
    if user_sees_company_wide(user):
        visible = ALL_PORTS
    elif user_has_role(user, Role.DEPARTMENT_HEAD):
        departments = departments_headed_by(user)
        if departments.filter(coordinates_all_ports=True).exists():
            visible = ALL_PORTS
        else:
            visible = frozenset(
                Port.objects.filter(Q(owner__in=departments) | Q(monitors__in=departments))
                .values_list("code", flat=True)
                .distinct()
            )
    else:
        visible = frozenset()
    user._csm_ports = visible
    return visible


def user_can_see_port(user, port_code: str) -> bool:
    return port_code in ports_visible_to(user)


def ports_in_order() -> QuerySet[Port]:
    return Port.objects.select_related("owner").order_by("position")


# --- Scope per object kind (used by pages, the API and exports alike) -------------------------------------------
#
# Projects and surveys are not personal data: every user with a role sees them. Owners (names, units, phones —
# personal information under PIPL) are seen only by the brand-service staff who keep them (as on the owner
# pages: minimum necessary). Raw responses (scores, owner by id only) are seen by company-wide roles; a
# department head works from the dashboards of the ports they may see and the feedback and plans of those ports.


def user_has_any_role(user) -> bool:
    return user.is_authenticated and (user.is_superuser or bool(user_roles(user)))


def user_may_enter_data(user) -> bool:
    """Brand-service staff (and administrators) key in questionnaires, import files, keep owners and projects."""
    return user.is_authenticated and (user.is_superuser or user_has_role(user, Role.BRAND_SERVICE))


def user_may_see_owners(user) -> bool:
    return user_may_enter_data(user)


def user_may_see_responses(user) -> bool:
    return user_sees_company_wide(user)


def user_may_reveal_phone(user) -> bool:
    """Seeing a full phone number is a permission of its own (``owners.view_full_phone``); every reveal is logged."""
    return user.is_authenticated and user.has_perm("owners.view_full_phone")


def projects_visible_to(user):
    from owners.models import Project

    if not user_has_any_role(user):
        return Project.objects.none()
    return Project.objects.order_by("code")


def owners_visible_to(user):
    from owners.models import Owner

    if not user_may_see_owners(user):
        return Owner.objects.none()
    return Owner.objects.select_related("project").order_by("project__code", "unit", "id")


def surveys_visible_to(user):
    from surveys.models import Survey

    if not user_has_any_role(user):
        return Survey.objects.none()
    return Survey.objects.order_by("-starts_on", "-created_at", "-id")


def questions_visible_to(user):
    from surveys.models import Question

    if not user_has_any_role(user):
        return Question.objects.none()
    return Question.objects.select_related("survey").order_by("survey_id", "position")


def responses_visible_to(user):
    from surveys.models import Response

    if not user_may_see_responses(user):
        return Response.objects.none()
    return Response.objects.select_related("survey", "project", "owner").order_by("survey_id", "questionnaire_no", "id")


def imports_visible_to(user):
    from surveys.models import ImportJob

    if not user_may_enter_data(user):
        return ImportJob.objects.none()
    return ImportJob.objects.select_related("survey", "created_by").order_by("-created_at", "-id")


def metric_rows_visible_to(user, *, survey) -> list[dict]:
    """The survey's metric rows (DESIGN §4 contract): the headline, and port rows of the ports this user may see."""
    from satisfaction.selectors import metric_rows

    if not user_has_any_role(user):
        return []
    return metric_rows(survey=survey, ports=ports_visible_to(user))
