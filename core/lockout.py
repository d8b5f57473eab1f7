"""Login lockout with two limits (django-axes): per user and address, and per account across every address.

Axes counts the failures of each lockout-parameter set (``AXES_LOCKOUT_PARAMETERS``: the pair first, the
username alone second) but holds them all to one limit. Here the pair keeps ``AXES_FAILURE_LIMIT`` and the account
gets its own, larger ``AXES_ACCOUNT_FAILURE_LIMIT``: a guesser spreading attempts over many addresses is stopped,
while one mistyping user does not lock their colleagues' account from every office.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Sum


class AccountLockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        per_pair, per_account = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if get_client_username(request, credentials) is None:
            per_account = 0  # no username given: the account set would match every nameless attempt
        if per_account >= settings.AXES_ACCOUNT_FAILURE_LIMIT:
            return max(per_pair, settings.AXES_FAILURE_LIMIT)
        return per_pair
