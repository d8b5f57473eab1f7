"""Celery tasks for the metrics: thin wrappers that take ids and call the services."""

from celery import shared_task
from django.db import OperationalError

from satisfaction.models import MetricRun
from satisfaction.services import SurveyBusy, metrics_flush_pending, metrics_run
from surveys.models import Survey

_RELIABLE = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(bind=True, **_RELIABLE)
def recompute_survey(self, survey_id: int) -> int:
    """Bring one survey's snapshots up to date (``metrics_run``); while another run holds the survey, this one
    waits its turn (retried a second later, so the requests made meanwhile run once, after it)."""
    try:
        return metrics_run(survey_id=survey_id)
    except SurveyBusy:
        if self.request.is_eager:  # in-process, no broker: the run stays pending for the beat's flush
            return -1
        raise self.retry(countdown=1, max_retries=None) from None


@shared_task(acks_late=True, reject_on_worker_lost=True)
def recompute_all_surveys() -> int:
    """Nightly: recompute every survey in full (one run each, so several workers share the work)."""
    from django.db import transaction

    from satisfaction.services import metrics_request_recompute

    ids = list(Survey.objects.order_by("id").values_list("id", flat=True))
    for survey_id in ids:
        with transaction.atomic():
            metrics_request_recompute(survey_id=survey_id, kind=MetricRun.Kind.FULL)
    return len(ids)


@shared_task
def flush_pending_recomputes() -> int:
    """The beat, every ``METRICS_FLUSH_SECONDS``: queue the runs the broker never delivered or whose worker died."""
    surveys = metrics_flush_pending()
    for survey_id in surveys:
        recompute_survey.delay(survey_id)
    return len(surveys)


# Partitioned recompute (see satisfaction/services.py): one task per group of projects, one chord callback.


@shared_task(**_RELIABLE)
def recompute_survey_partition(survey_id: int, project_ids: list[int], run_ids: list[int] | None = None) -> dict:
    from satisfaction.services import _heartbeat, metrics_partial_compute

    with _heartbeat(run_ids or []):
        counts, seen = metrics_partial_compute(survey_id=survey_id, project_ids=project_ids, with_deltas=True)
    return {"project_ids": sorted(project_ids), "counts": counts, "delta_ids": seen}


@shared_task(bind=True, **_RELIABLE)
def recompute_survey_combine(self, results: list[dict], survey_id: int, run_ids: list[int], plan: list[list[int]]) -> int:
    from satisfaction.services import _heartbeat, metrics_combine_partition_results

    try:
        with _heartbeat(run_ids):
            return metrics_combine_partition_results(survey_id=survey_id, results=results, plan=plan, run_ids=run_ids)
    except SurveyBusy:
        raise self.retry(countdown=1, max_retries=None) from None


@shared_task(acks_late=True)
def recompute_survey_failed(survey_id: int, run_ids: list[int]) -> int:
    from satisfaction.services import metrics_mark_failed

    return metrics_mark_failed(survey_id=survey_id, run_ids=run_ids, error="partitioned recompute failed")
