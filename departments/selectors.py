"""Who may see what: the one place that turns a user's roles and departments into visible ports.

Pages, API views, exports and dashboards all ask here; nothing else decides port visibility.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from departments.models import Department, Port, Role
from departments.ports import PORTS, port_rank

ALL_PORTS = frozenset(PORTS)
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


def port_rows_in_order() -> QuerySet[Port]:
    """The ``Port`` rows (owner, monitors) in the procedure's order (``departments.ports.PORTS``)."""
    return Port.objects.select_related("owner").order_by(port_rank())


# --- Role predicates that every app's scope builds on -------------------------------------------------------------
#
# Each app answers "may this user see / change this" for its own objects (``*_visible_to`` in its selectors),
# from the roles and ports decided here.


def user_has_any_role(user) -> bool:
    return user.is_authenticated and (user.is_superuser or bool(user_roles(user)))


def user_may_enter_data(user) -> bool:
    """Brand-service staff (and administrators) enter data: key in questionnaires, import files, keep owners and
    projects, key in feedback, callbacks and external reports."""
    return user.is_authenticated and (user.is_superuser or user_has_role(user, Role.BRAND_SERVICE))
