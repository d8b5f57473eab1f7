"""View guards built on the scope module (``departments.selectors``): one decorator per role-gated area."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from departments.selectors import user_may_enter_data


def brand_service_required(view):
    """403 for anyone but brand-service staff and superusers (login itself is the middleware's job)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_may_enter_data(request.user):
            raise PermissionDenied(gettext("只有品牌客服专员可以使用此页面"))
        return view(request, *args, **kwargs)

    return wrapper
