"""Site-wide guards: every view needs login unless marked public; a strict Content Security Policy.

Login is Django's own ``LoginRequiredMiddleware``: a view is public only when marked with
``django.contrib.auth.decorators.login_not_required`` (``@method_decorator(login_not_required, name="dispatch")`` on a
class-based view). Django marks its login and password-reset views itself; this project marks the health checks (the
admin's login, which Django also marks, is routed through a view that needs login: see ``config/urls.py``). A new
public page, such as an owner answering a survey through a link, is one decorator on its view.
"""

import logging

from django.conf import settings
from django.contrib.auth import middleware as auth_middleware
from django.utils.cache import patch_cache_control
from rest_framework.views import APIView

logger = logging.getLogger("csm.access")

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's guard, except that the API answers for itself and the site has one login page.

    A REST framework view authenticates the token or the session itself and refuses an anonymous call with 401 and
    ``WWW-Authenticate: Token`` (its default permission is ``IsAuthenticated``); a redirect to the login page would
    mean nothing to a script. Exchanging a password for a token is public the same way: its view permits anyone.
    The admin's views name the admin's login page; an anonymous visitor goes to the site's instead.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)

    def get_login_url(self, view_func):
        return str(settings.LOGIN_URL)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response


class AccessLogMiddleware:
    """Log every refused request (401, 403, and axes' 429 lockout) on ``csm.access``."""

    REFUSED = frozenset({401, 403, 429})

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from core.auth_events import client_ip

        response = self.get_response(request)
        if response.status_code in self.REFUSED:
            user = getattr(request, "user", None)
            logger.warning(
                "access refused status=%s user=%s method=%s path=%s ip=%s",
                response.status_code,
                user.get_username() if user is not None and user.is_authenticated else "-",
                request.method,
                request.path,
                client_ip(request) or "-",
            )
        return response


class PrivateCacheMiddleware:
    """``Cache-Control: no-store, private`` on every answer that does not set its own: pages and API answers carry
    personal data (owners, phones, who wrote what), which no browser cache or proxy may keep. Static files are
    answered by whitenoise before this and keep their long cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Cache-Control" not in response:
            patch_cache_control(response, no_store=True, private=True)
        return response
