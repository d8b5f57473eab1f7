"""Reads of projects and owners: the search that the entry form and the owner list use."""

import re

from django.db.models import Q, QuerySet

from departments.selectors import user_has_any_role, user_may_enter_data
from owners.models import Owner, Project
from owners.natural import natural

# A query of digits only is read as the end of a phone number as well as part of a unit.
PHONE_TAIL = re.compile(r"^\d{3,}$")


def projects_in_order() -> QuerySet[Project]:
    return Project.objects.order_by("code")


def owners_search(*, query: str, project_id: int | None = None) -> QuerySet[Owner]:
    """Owners whose unit (楼栋-单元-房号) or name contains the query, or whose phone ends in it (digits only)."""
    owners = Owner.objects.select_related("project").order_by("project__code", natural("unit"), "name", "id")
    if project_id:
        owners = owners.filter(project_id=project_id)
    query = " ".join(query.split())
    if not query:
        return owners
    condition = Q(unit__icontains=query) | Q(name__icontains=query)
    if PHONE_TAIL.match(query):
        condition |= Q(phone__endswith=query)
    return owners.filter(condition)


# --- Scope: who may see owners and projects -------------------------------------------------------------------
#
# Projects are not personal data: every user with a role sees them. Owners (names, units, phones — personal
# information under PIPL) are seen only by the brand-service staff who keep them (minimum necessary).


def user_may_see_owners(user) -> bool:
    return user_may_enter_data(user)


def user_may_reveal_phone(user) -> bool:
    """Seeing a full phone number is a permission of its own (``owners.view_full_phone``); every reveal is logged."""
    return user.is_authenticated and user.has_perm("owners.view_full_phone")


def projects_visible_to(user):
    if not user_has_any_role(user):
        return Project.objects.none()
    return Project.objects.order_by("code")


def owners_visible_to(user):
    if not user_may_see_owners(user):
        return Owner.objects.none()
    return Owner.objects.select_related("project").order_by("project__code", natural("unit"), "id")
