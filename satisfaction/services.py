"""Writes for the metrics: queue a recompute (coalesced) and run one (replace a survey's snapshots)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from owners.models import Project
from satisfaction.metrics.engine import compute_survey_metrics
from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricRun, MetricSnapshot
from satisfaction.selectors import survey_frame, survey_question_specs
from surveys.models import Survey

logger = logging.getLogger(__name__)

# Several entries saved within this many seconds share one recompute.
COALESCE_SECONDS = 2


def metrics_request_recompute(*, survey_id: int) -> MetricRun:
    """Ask for a survey's numbers to be recomputed, once the current transaction commits.

    Requests made while one is still pending join it, so a busy entry clerk or a 10,000-row import
    triggers one recompute, not one per row.
    """
    from satisfaction.tasks import recompute_survey

    pending = MetricRun.objects.filter(survey_id=survey_id, status=MetricRun.Status.PENDING).order_by("-id").first()
    if pending is not None:
        return pending
    run = MetricRun.objects.create(survey_id=survey_id, requested_at=timezone.now())
    transaction.on_commit(lambda: _enqueue(recompute_survey, run))
    return run


def _enqueue(task, run: MetricRun) -> None:
    try:
        task.apply_async(args=[run.survey_id], countdown=COALESCE_SECONDS)
    except Exception:  # broker down: the run stays pending and the beat's flush queues it later
        logger.warning("recompute of survey %s queued for later: broker unavailable", run.survey_id, exc_info=True)


def metrics_compute(*, survey_id: int) -> int:
    """Recompute every slice of one survey and replace its snapshots in one transaction.

    Idempotent: a rerun (after a worker died, say) writes the same rows. Returns the number of responses read.
    """
    survey = Survey.objects.get(pk=survey_id)
    started_at = timezone.now()
    claimed = list(
        MetricRun.objects.filter(survey=survey, status__in=[MetricRun.Status.PENDING, MetricRun.Status.RUNNING])
        .values_list("id", flat=True)
    )
    MetricRun.objects.filter(id__in=claimed).update(status=MetricRun.Status.RUNNING, started_at=started_at)
    try:
        frame = survey_frame(survey=survey)
        metrics = compute_survey_metrics(frame, survey_question_specs(survey=survey))
        metrics_write_snapshots(survey=survey, metrics=metrics, computed_at=timezone.now())
    except Exception as exc:
        MetricRun.objects.filter(id__in=claimed).update(
            status=MetricRun.Status.FAILED, finished_at=timezone.now(), error=str(exc)[:2000]
        )
        raise
    finished_at = timezone.now()
    if claimed:
        MetricRun.objects.filter(id__in=claimed).update(
            status=MetricRun.Status.DONE, finished_at=finished_at, responses=len(frame)
        )
    else:
        MetricRun.objects.create(
            survey=survey,
            status=MetricRun.Status.DONE,
            requested_at=started_at,
            started_at=started_at,
            finished_at=finished_at,
            responses=len(frame),
        )
    return len(frame)


@transaction.atomic
def metrics_write_snapshots(*, survey: Survey, metrics, computed_at) -> None:
    """Delete-and-rewrite the survey's snapshot rows; readers see the old rows until this commits."""
    projects = dict(Project.objects.values_list("code", "id"))
    MetricSnapshot.objects.filter(survey=survey).delete()
    ItemSnapshot.objects.filter(survey=survey).delete()
    DriverSnapshot.objects.filter(survey=survey).delete()

    def ci(interval, index):
        return interval[index] if interval else None

    MetricSnapshot.objects.bulk_create(
        (
            MetricSnapshot(
                survey=survey,
                port=row.port or "",
                project_id=projects[row.project] if row.project else None,
                stage=row.stage or "",
                n=row.n,
                satisfied=row.satisfied,
                satisfaction_rate=row.satisfaction_rate,
                satisfaction_ci_low=ci(row.satisfaction_ci, 0),
                satisfaction_ci_high=ci(row.satisfaction_ci, 1),
                mean_score=row.mean_score,
                loyalty_base=row.loyalty_base,
                loyal=row.loyal,
                loyalty_rate=row.loyalty_rate,
                loyalty_ci_low=ci(row.loyalty_ci, 0),
                loyalty_ci_high=ci(row.loyalty_ci, 1),
                computed_at=computed_at,
            )
            for row in metrics.rows
        ),
        batch_size=2000,
    )
    ItemSnapshot.objects.bulk_create(
        (
            ItemSnapshot(
                survey=survey,
                question_code=row.question_code,
                port=row.port,
                project_id=projects[row.project] if row.project else None,
                stage=row.stage or "",
                n=row.n,
                satisfied=row.satisfied,
                satisfaction_rate=row.satisfaction_rate,
                satisfaction_ci_low=ci(row.satisfaction_ci, 0),
                satisfaction_ci_high=ci(row.satisfaction_ci, 1),
                mean_score=row.mean_score,
                computed_at=computed_at,
            )
            for row in metrics.items
        ),
        batch_size=2000,
    )
    DriverSnapshot.objects.bulk_create(
        (
            DriverSnapshot(
                survey=survey,
                port=row.port or "",
                project_id=projects[row.project] if row.project else None,
                question_code=row.question_code,
                pairs=row.pairs,
                importance=row.importance,
                performance=row.performance,
                n=row.n,
                concentrate_here=row.concentrate_here,
                computed_at=computed_at,
            )
            for row in metrics.drivers
        ),
        batch_size=2000,
    )
