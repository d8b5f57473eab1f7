"""E-mail notifications with a per-user, per-kind setting (on unless the user turned it off).

Apps register the kinds they send (``notification_kind_register`` in their ``AppConfig.ready``); users switch
each kind on or off on their own settings page (/accounts/notifications/). Mail is sent only after the current
transaction commits, so a rolled-back change mails nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationKind:
    code: str
    label: str
    help_text: str = ""


_KINDS: dict[str, NotificationKind] = {}


def notification_kind_register(code: str, label, help_text="") -> NotificationKind:
    kind = NotificationKind(code, label, help_text)
    _KINDS[code] = kind
    return kind


def notification_kinds() -> list[NotificationKind]:
    return sorted(_KINDS.values(), key=lambda kind: kind.code)


def notification_disabled_kinds(*, user) -> set[str]:
    from core.models import NotificationPreference

    return set(NotificationPreference.objects.filter(user=user, enabled=False).values_list("kind", flat=True))


def notification_recipients(*, users: Iterable, kind: str) -> list[str]:
    """The e-mail addresses of those users (active, with an address) who have not turned this kind off."""
    from core.models import NotificationPreference

    users = [user for user in users if user is not None and user.is_active and user.email]
    off = set(
        NotificationPreference.objects.filter(user__in=users, kind=kind, enabled=False).values_list("user_id", flat=True)
    )
    return sorted({user.email for user in users if user.pk not in off})


def notification_set(*, user, kind: str, enabled: bool) -> None:
    from core.models import NotificationPreference

    if kind not in _KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    NotificationPreference.objects.update_or_create(user=user, kind=kind, defaults={"enabled": enabled})


def notification_send(
    *, users: Iterable, kind: str, subject: str, body: str, attachments: Sequence[tuple[str, bytes, str]] = ()
) -> None:
    """Mail ``users`` who want ``kind``, once the current transaction commits (one message per recipient)."""
    if kind not in _KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    recipients = notification_recipients(users=users, kind=kind)
    if not recipients:
        logger.info("notification %s: nobody to notify", kind)
        return

    def send() -> None:
        for address in recipients:
            message = EmailMessage(subject, body, None, [address])
            for name, content, mimetype in attachments:
                message.attach(name, content, mimetype)
            message.send(fail_silently=False)

    transaction.on_commit(send)
