"""Celery tasks for the metrics: thin wrappers that take ids and call the services."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from satisfaction.models import MetricRun
from satisfaction.services import metrics_compute
from surveys.models import Survey


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def recompute_survey(survey_id: int) -> int:
    return metrics_compute(survey_id=survey_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_all_surveys() -> int:
    """Nightly: recompute every survey (one task each, so several workers share the work)."""
    ids = list(Survey.objects.order_by("id").values_list("id", flat=True))
    for survey_id in ids:
        recompute_survey.delay(survey_id)
    return len(ids)


@shared_task
def flush_pending_recomputes() -> int:
    """Queue recomputes requested while the broker was unreachable (pending for over a minute)."""
    stale = timezone.now() - timezone.timedelta(minutes=1)
    ids = list(
        MetricRun.objects.filter(status=MetricRun.Status.PENDING, requested_at__lt=stale)
        .values_list("survey_id", flat=True)
        .distinct()
    )
    for survey_id in ids:
        recompute_survey.delay(survey_id)
    return len(ids)
