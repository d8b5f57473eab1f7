"""Celery tasks of the reports: thin wrappers around the services."""

from celery import shared_task
from django.utils import timezone

from reports.digests import digests_send


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_monthly_digests() -> int:
    """The beat runs this daily; each user gets a period's digest once (``DigestSent``), so reruns are harmless."""
    return digests_send(now=timezone.now())
