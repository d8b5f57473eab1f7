"""API tokens: issued at login, stored as a SHA-256 digest, one per (user, client), expiring, revocable.

The token is 256 random bits, so a plain SHA-256 is the right hash (no salt or stretching needed: nothing to guess).
A token dies when it expires, when the same client logs in again, when it logs out (``POST /api/v1/auth/logout/``),
when its user logs out of the site, is deactivated or changes password.
"""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core.models import ApiToken

logger = logging.getLogger("csm.access")

DEFAULT_CLIENT = "default"
# A client of that user beyond this many drops the least recently issued token.
MAX_CLIENTS_PER_USER = 10
# last_used_at is refreshed at most this often: a write per API call would be a write per API call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_issue(*, user, client: str = DEFAULT_CLIENT, now: datetime | None = None) -> tuple[str, ApiToken]:
    """A new token for ``user`` on ``client``, replacing that client's previous one; the token text is returned
    once, only its digest is stored."""
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.filter(user=user, client=client).delete()
        record = ApiToken.objects.create(
            user=user,
            client=client,
            digest=_digest(token),
            prefix=token[:8],
            password_stamp=user.get_session_auth_hash(),
            created_at=now,
            expires_at=now + timedelta(hours=settings.API_TOKEN_TTL_HOURS),
        )
        surplus = ApiToken.objects.filter(user=user).order_by("-created_at", "-id").values_list("id", flat=True)
        ApiToken.objects.filter(id__in=list(surplus[MAX_CLIENTS_PER_USER:])).delete()
    logger.info("api token issued user=%s client=%s prefix=%s", user.get_username(), client, record.prefix)
    return token, record


def api_tokens_revoke(*, user, token: ApiToken | None = None) -> int:
    """End one token, or every token of ``user``; the number ended."""
    tokens = ApiToken.objects.filter(user=user)
    if token is not None:
        tokens = tokens.filter(pk=token.pk)
    count, _ = tokens.delete()
    if count:
        logger.info("api tokens revoked user=%s count=%s", user.get_username(), count)
    return count


class ApiTokenAuthentication(TokenAuthentication):
    """``Authorization: Token …`` against the stored digests."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        now = timezone.now()
        record = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        if record is None:
            raise exceptions.AuthenticationFailed("令牌无效。")
        user = record.user
        if record.expires_at <= now or not constant_time_compare(record.password_stamp, user.get_session_auth_hash()):
            record.delete()  # expired, or the password changed since: gone for good
            raise exceptions.AuthenticationFailed("令牌已失效，请重新获取。")
        if not user.is_active:
            raise exceptions.AuthenticationFailed("用户已停用。")
        if record.last_used_at is None or now - record.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
        return user, record
