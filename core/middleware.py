"""Site-wide guards: every URL needs login except the public ones; a strict Content Security Policy."""

import logging

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.cache import patch_cache_control

logger = logging.getLogger("csm.access")

PUBLIC_PREFIXES = (
    "/accounts/login/",
    "/accounts/password_reset/",
    "/accounts/reset/",
    "/healthz",
    "/readyz",
    "/static/",
    # Exchanging a password for an API token is a login; axes guards it like the login page.
    "/api/v1/auth/token/",
)

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


class LoginRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if request.user.is_authenticated or path.startswith(PUBLIC_PREFIXES) or path == "/favicon.ico":
            return self.get_response(request)
        if path.startswith("/api/"):
            # Token-authenticated API calls are authenticated by DRF itself, after this middleware.
            if request.headers.get("Authorization", "").startswith("Token "):
                return self.get_response(request)
            refused = JsonResponse({"detail": "身份认证信息未提供。"}, status=401)
            refused["WWW-Authenticate"] = "Token"  # as DRF answers: a 401 names the scheme to use
            return refused
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)


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
