"""Who logged in, who failed, who was locked out: one line each on logger ``csm.access``.

Signal receivers are used for authentication events only (Django and axes announce them as signals; a logout
also ends the user's API tokens);
refused requests (401/403) are logged by ``core.middleware.AccessLogMiddleware``.
"""

import logging

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("csm.access")


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address they saw.

    Used by the access log and by axes (``AXES_CLIENT_IP_CALLABLE``), so that behind a proxy a lockout hits
    one client rather than everyone; with no proxy configured a forged X-Forwarded-For is ignored.
    """
    if request is None:
        return None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


@receiver(user_logged_in, dispatch_uid="csm_log_login")
def log_login(sender, request, user, **kwargs):
    logger.info("login succeeded user=%s ip=%s", user.get_username(), client_ip(request) or "-")


@receiver(user_logged_out, dispatch_uid="csm_log_logout")
def log_logout(sender, request, user, **kwargs):
    logger.info("logout user=%s ip=%s", user.get_username() if user else "-", client_ip(request) or "-")


@receiver(user_logged_out, dispatch_uid="csm_logout_ends_api_tokens")
def end_api_tokens(sender, request, user, **kwargs):
    # Logging out of the site logs the user out everywhere: their API tokens end with the session.
    from core.tokens import api_tokens_revoke

    if user is not None:
        api_tokens_revoke(user=user)


@receiver(user_login_failed, dispatch_uid="csm_log_login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs):
    # ``credentials`` is already cleansed of the password by Django.
    logger.warning("login failed username=%s ip=%s", credentials.get("username", "-"), client_ip(request) or "-")


@receiver(user_locked_out, dispatch_uid="csm_log_locked_out")
def log_locked_out(sender, request, username, ip_address, **kwargs):
    logger.warning("login locked out username=%s ip=%s", username, ip_address)
