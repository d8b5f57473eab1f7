"""Navigation flags for the base template, from the one scope module."""

from dashboards.selectors import dashboard_ports_for
from departments.models import Role
from departments.selectors import user_has_role, user_may_enter_data, user_sees_company_wide


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav": {
            "is_brand_service": user_may_enter_data(user),
            "is_management": user.is_superuser or user_has_role(user, Role.MANAGEMENT),
            "is_head": user_has_role(user, Role.DEPARTMENT_HEAD),
            "company_wide": user_sees_company_wide(user),
            "ports": dashboard_ports_for(user),
        }
    }
