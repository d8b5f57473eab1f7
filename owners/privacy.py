"""Personal data of owners (PIPL): masked phones unless a permitted reveal, the reveal log, anonymisation."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q
from django.db.models.functions import Coalesce, Greatest

from owners.models import Owner, PhoneAccessLog, mask_phone
from owners.selectors import user_may_reveal_phone

logger = logging.getLogger("csm.access")


def phone_reveal(*, user, owner: Owner, where: str, ip_address: str | None = None, now: datetime) -> str:
    """The owner's full phone number for a permitted user, leaving a PhoneAccessLog row; masked otherwise."""
    if not owner.phone or not user_may_reveal_phone(user):
        return mask_phone(owner.phone)
    PhoneAccessLog.objects.create(user=user, owner=owner, accessed_at=now, where=where[:255], ip_address=ip_address)
    logger.info("phone revealed owner=%s user=%s where=%s", owner.pk, user.get_username(), where)
    return owner.phone


def owners_due_for_anonymisation(*, now: datetime, retention_days: int):
    """Owners not yet anonymised whose last update and last response are both older than the retention period."""
    cutoff = now - timedelta(days=retention_days)
    return (
        Owner.objects.filter(anonymised_at__isnull=True)
        .annotate(last_response_at=Max("responses__updated_at"))
        .annotate(last_activity_at=Greatest("updated_at", Coalesce("last_response_at", "updated_at")))
        .filter(Q(last_activity_at__lt=cutoff))
        .order_by("id")
    )


def owners_anonymise(*, now: datetime, retention_days: int, dry_run: bool = False) -> list[int]:
    """Replace name and phone of owners past retention by 业主#id and blank; scrub their earlier history rows too.

    The change itself is recorded as a history row ("匿名化"); earlier history rows would otherwise keep the
    name and phone, which anonymisation must not leave recoverable.
    """
    ids = list(owners_due_for_anonymisation(now=now, retention_days=retention_days).values_list("id", flat=True))
    if dry_run or not ids:
        return ids
    HistoricalOwner = Owner.history.model
    with transaction.atomic():
        for owner in Owner.objects.select_for_update().filter(id__in=ids).order_by("id"):
            HistoricalOwner.objects.filter(id=owner.pk).update(name=f"业主#{owner.pk}", phone="")
            owner.name = f"业主#{owner.pk}"
            owner.phone = ""
            owner.anonymised_at = now
            owner._change_reason = "匿名化（超过保存期限）"
            owner.save(update_fields=["name", "phone", "anonymised_at", "updated_at"])
    logger.info("owners anonymised count=%s", len(ids))
    return ids
