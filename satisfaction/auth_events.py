"""Who logged in, who failed, who was locked out: one line each on logger ``satisfaction.access``.

Signal receivers are used for authentication events only (Django and axes announce them as signals);
refused requests (401/403) are logged by ``satisfaction.middleware.AccessLogMiddleware``.
"""

import logging

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

logger = logging.getLogger("satisfaction.access")


def client_ip(request) -> str:
    if request is None:
        return "-"
    return request.META.get("REMOTE_ADDR") or "-"


@receiver(user_logged_in, dispatch_uid="csm_log_login")
def log_login(sender, request, user, **kwargs):
    logger.info("login succeeded user=%s ip=%s", user.get_username(), client_ip(request))


@receiver(user_logged_out, dispatch_uid="csm_log_logout")
def log_logout(sender, request, user, **kwargs):
    logger.info("logout user=%s ip=%s", user.get_username() if user else "-", client_ip(request))


@receiver(user_login_failed, dispatch_uid="csm_log_login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs):
    # ``credentials`` is already cleansed of the password by Django.
    logger.warning("login failed username=%s ip=%s", credentials.get("username", "-"), client_ip(request))


@receiver(user_locked_out, dispatch_uid="csm_log_locked_out")
def log_locked_out(sender, request, username, ip_address, **kwargs):
    logger.warning("login locked out username=%s ip=%s", username, ip_address)
