"""Celery tasks for the metrics: thin wrappers that take ids and call the services."""

from datetime import timedelta

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
    from satisfaction.services import metrics_compute_partitioned, metrics_should_partition

    if metrics_should_partition(survey_id=survey_id):
        return metrics_compute_partitioned(survey_id=survey_id)
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
    """Queue recomputes the broker never got: requested while it was down, or lost with a worker and the queue.

    A run pending for longer than ``METRICS_FLUSH_SECONDS`` was not picked up; a run still "running" after the
    broker's visibility timeout lost its message (else it would have been redelivered). Recomputes are
    idempotent, so queueing one twice costs time, never correctness.
    """
    from django.conf import settings
    from django.db.models import Q

    now = timezone.now()
    stale = Q(status=MetricRun.Status.PENDING, requested_at__lt=now - timedelta(seconds=settings.METRICS_FLUSH_SECONDS))
    stuck = Q(
        status=MetricRun.Status.RUNNING,
        started_at__lt=now - timedelta(seconds=settings.CELERY_VISIBILITY_TIMEOUT + settings.METRICS_FLUSH_SECONDS),
    )
    ids = sorted(set(MetricRun.objects.filter(stale | stuck).values_list("survey_id", flat=True)))
    for survey_id in ids:
        recompute_survey.delay(survey_id)
    return len(ids)


# Partitioned recompute (see satisfaction/services.py): one task per group of projects, one chord callback.
_RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(**_RELIABLE)
def recompute_survey_partition(survey_id: int, project_ids: list[int]) -> dict:
    from satisfaction.services import metrics_partial_compute

    counts = metrics_partial_compute(survey_id=survey_id, project_ids=project_ids)
    return {"project_ids": sorted(project_ids), "counts": counts}


@shared_task(**_RELIABLE)
def recompute_survey_combine(results: list[dict], survey_id: int, run_ids: list[int], plan: list[list[int]]) -> int:
    from satisfaction.services import metrics_combine_partition_results

    return metrics_combine_partition_results(survey_id=survey_id, results=results, plan=plan, run_ids=run_ids)


@shared_task(acks_late=True)
def recompute_survey_failed(survey_id: int, run_ids: list[int]) -> int:
    from satisfaction.services import metrics_mark_failed

    return metrics_mark_failed(survey_id=survey_id, run_ids=run_ids, error="partitioned recompute failed")
