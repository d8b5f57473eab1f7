"""Account pages beyond Django's own: a password reset that sends a few mails per account and per address."""

import logging

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect

from core.auth_events import client_ip
from core.ratelimit import rate_limits_hit

logger = logging.getLogger("csm.access")

RESET_WINDOW_SECONDS = 3600


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, rate-limited per e-mail address asked for and per client address.

    A held-back request answers exactly as a sent one (the "mail sent if the address is registered" page), as
    Django already does for an unknown address, so the page tells an attacker nothing about accounts.
    """

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        ip = client_ip(self.request) or "-"
        over = rate_limits_hit(
            scope="password-reset",
            limits=[
                ("account", email, settings.PASSWORD_RESET_LIMIT_PER_ACCOUNT),
                ("address", ip, settings.PASSWORD_RESET_LIMIT_PER_ADDRESS),
            ],
            window_seconds=RESET_WINDOW_SECONDS,
        )
        if over:
            logger.warning("password reset held back limit=%s ip=%s", ",".join(over), ip)
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)
