"""View guards built on the scope module (``departments.selectors``): one decorator per role-gated area."""

from functools import wraps

from django.core.exceptions import PermissionDenied

from departments.models import Role
from departments.selectors import user_has_role


def user_is_brand_service(user) -> bool:
    """Brand-service staff key in questionnaires, import files and keep owners; administrators may too."""
    return user.is_authenticated and (user.is_superuser or user_has_role(user, Role.BRAND_SERVICE))


def brand_service_required(view):
    """403 for anyone but brand-service staff and superusers (login itself is the middleware's job)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_is_brand_service(request.user):
            raise PermissionDenied("只有品牌客服专员可以使用此页面")
        return view(request, *args, **kwargs)

    return wrapper
