"""Celery tasks of the follow-up app: thin, they call ``followup.services``."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from followup import services


# Idempotent (one ticket per response, rule and port): safe to rerun after a lost worker or a database hiccup.
@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), max_retries=5,
             retry_backoff=True)
def alerts_run_task(survey_id: int, changed: list[list] | None = None) -> int:
    """Open the tickets for a survey's changed responses (idempotent: a rerun opens nothing new)."""
    pairs = None if changed is None else [(int(p), str(a)) for p, a in changed]
    return len(services.alerts_run(survey_id=survey_id, changed=pairs, now=timezone.now()))


# The sweep runs hourly (config/settings.py); it re-reads what changed in twice that window.
SWEEP_LOOKBACK = timedelta(hours=2)


@shared_task
def alerts_sweep() -> int:
    """The safety net for runs the broker never got: every open survey's low responses changed lately."""
    from surveys.models import Survey

    now = timezone.now()
    return sum(
        len(services.alerts_run(survey_id=pk, updated_since=now - SWEEP_LOOKBACK, now=now))
        for pk in Survey.objects.filter(closed_at__isnull=True).order_by("id").values_list("id", flat=True)
    )


@shared_task
def tickets_escalate_task() -> dict[str, list[int]]:
    return services.tickets_escalate(now=timezone.now())
