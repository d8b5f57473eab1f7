"""Writes for the metrics: queue a recompute (coalesced) and run one (replace a survey's snapshots)."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from owners.models import Project
from satisfaction.metrics.engine import (
    CellCounts,
    combine_counts,
    compute_survey_metrics,
    metrics_from_counts,
    survey_cell_counts,
)
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

    requested = _run_requested_in_this_transaction(survey_id)
    if requested is not None:
        return requested
    pending = MetricRun.objects.filter(survey_id=survey_id, status=MetricRun.Status.PENDING).order_by("-id").first()
    if pending is not None:
        # The pending run's worker may claim it and read the responses before this transaction commits, and
        # so miss this change: once committed, make sure the run is still waiting, or ask again.
        _on_commit(pending, lambda: _recheck_joined_run(survey_id, pending.pk))
        return pending
    run = MetricRun.objects.create(survey_id=survey_id, requested_at=timezone.now())
    _on_commit(run, lambda: _enqueue(recompute_survey, run))
    return run


def _on_commit(run: MetricRun, callback) -> None:
    callback.recompute_survey_id = run.survey_id
    callback.recompute_run_id = run.pk
    transaction.on_commit(callback)


def _run_requested_in_this_transaction(survey_id: int) -> MetricRun | None:
    """The still pending run this transaction already asked for on the survey's behalf (one request is enough)."""
    for _savepoints, callback, _robust in reversed(transaction.get_connection().run_on_commit):
        if getattr(callback, "recompute_survey_id", None) == survey_id:
            return MetricRun.objects.filter(pk=callback.recompute_run_id, status=MetricRun.Status.PENDING).first()
    return None


def _recheck_joined_run(survey_id: int, run_id: int) -> None:
    if MetricRun.objects.filter(pk=run_id, status=MetricRun.Status.PENDING).exists():
        return  # not claimed yet: its worker will read the responses as committed now
    metrics_request_recompute(survey_id=survey_id)


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


# Partitioned recompute: several workers share one large survey ------------------------------------------------
# The engine derives every number from additive integer counts (``CellCounts``: per project × stage cell, and
# per-project moments for the drivers), so each worker counts a range of projects (``metrics_partial_compute``)
# and one callback adds the counts up, derives the rows exactly as the single task does and replaces the
# snapshots in one transaction (``metrics_combine_partials``), through a Celery chord. A partition
# that dies is redelivered (acks_late) and recounted; until the callback commits, pages keep the previous snapshots.


def metrics_should_partition(*, survey_id: int) -> bool:
    """Large surveys on a real broker with a result backend (the chord needs one) go partitioned."""
    from django.conf import settings

    from surveys.models import Response

    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_RESULT_BACKEND:
        return False
    return Response.objects.filter(survey_id=survey_id).count() >= settings.METRICS_PARTITION_MIN_RESPONSES


def metrics_partition_plan(*, survey_id: int, rows_per_partition: int | None = None) -> list[list[int]]:
    """Project ids in balanced groups of about ``rows_per_partition`` responses (largest projects placed first)."""
    from django.conf import settings

    from satisfaction.selectors import survey_project_sizes

    rows_per_partition = rows_per_partition or settings.METRICS_PARTITION_ROWS
    sizes = survey_project_sizes(survey=Survey.objects.get(pk=survey_id))
    if not sizes:
        return []
    count = max(1, min(len(sizes), -(-sum(sizes.values()) // rows_per_partition)))
    groups: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for project_id, n in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        lightest = loads.index(min(loads))
        groups[lightest].append(project_id)
        loads[lightest] += n
    return [sorted(group) for group in groups]


def _metrics_claim(*, survey_id: int) -> list[int]:
    claimed = list(
        MetricRun.objects.filter(
            survey_id=survey_id, status__in=[MetricRun.Status.PENDING, MetricRun.Status.RUNNING]
        ).values_list("id", flat=True)
    )
    MetricRun.objects.filter(id__in=claimed).update(status=MetricRun.Status.RUNNING, started_at=timezone.now())
    return claimed


def metrics_compute_partitioned(*, survey_id: int, plan: list[list[int]] | None = None) -> int:
    """Claim the survey's pending runs and send one partial-count task per project group, combined by a chord.

    Returns the number of partitions sent. Idempotent: sent twice, both chords write the same snapshots.
    """
    from celery import chord, group

    from satisfaction.tasks import recompute_survey_combine, recompute_survey_failed, recompute_survey_partition

    plan = metrics_partition_plan(survey_id=survey_id) if plan is None else plan
    claimed = _metrics_claim(survey_id=survey_id)
    if not plan:  # no responses: an empty survey's snapshots are simply cleared
        metrics_combine_partials(survey_id=survey_id, partials=[], run_ids=claimed)
        return 0
    header = group(recompute_survey_partition.s(survey_id, project_ids) for project_ids in plan)
    body = recompute_survey_combine.s(survey_id, claimed, plan).on_error(recompute_survey_failed.si(survey_id, claimed))
    chord(header)(body)
    return len(plan)


def metrics_partial_compute(*, survey_id: int, project_ids: list[int]) -> dict:
    """Additive counts of one group of projects' responses, as JSON-able lists (read-only: nothing is written)."""
    from satisfaction.selectors import survey_frame_for_projects

    survey = Survey.objects.get(pk=survey_id)
    frame = survey_frame_for_projects(survey=survey, project_ids=project_ids)
    return survey_cell_counts(frame, survey_question_specs(survey=survey)).as_dict()


def metrics_combine_partition_results(
    *, survey_id: int, results: list[dict], plan: list[list[int]], run_ids: list[int]
) -> int:
    """The chord's callback: one result per planned project group, then ``metrics_combine_partials``.

    A partition whose worker died after storing its result but before acknowledging its message runs again, and the
    chord's counter then counts it twice: the callback may get that group twice and miss another. So results are
    keyed by their group, duplicates dropped, and a missing group is counted here (it is a read).
    """
    by_group: dict[tuple[int, ...], dict] = {}
    for result in results:
        if isinstance(result, dict) and "project_ids" in result:
            by_group.setdefault(tuple(sorted(result["project_ids"])), result["counts"])
    partials = []
    for project_ids in plan:
        key = tuple(sorted(project_ids))
        if key not in by_group:
            logger.warning("survey %s: partition %s missing from the chord's results, counted now", survey_id, key)
            by_group[key] = metrics_partial_compute(survey_id=survey_id, project_ids=list(key))
        partials.append(by_group[key])
    return metrics_combine_partials(survey_id=survey_id, partials=partials, run_ids=run_ids)


def metrics_combine_partials(*, survey_id: int, partials: list[dict], run_ids: list[int]) -> int:
    """Add the partial counts up, replace the survey's snapshots in one transaction, mark the runs done."""
    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    counts = combine_counts([CellCounts.from_dict(part) for part in partials], specs)
    metrics = metrics_from_counts(counts, specs)
    responses = counts.total_responses
    metrics_write_snapshots(survey=survey, metrics=metrics, computed_at=timezone.now())
    finished_at = timezone.now()
    done = MetricRun.objects.filter(id__in=run_ids).exclude(status=MetricRun.Status.DONE)
    if not done.update(status=MetricRun.Status.DONE, finished_at=finished_at, responses=responses) and not run_ids:
        MetricRun.objects.create(
            survey=survey,
            status=MetricRun.Status.DONE,
            requested_at=finished_at,
            started_at=finished_at,
            finished_at=finished_at,
            responses=responses,
        )
    return responses


def metrics_mark_failed(*, survey_id: int, run_ids: list[int], error: str) -> int:
    """A partitioned run that gave up: its runs show as failed (the previous snapshots stay)."""
    return MetricRun.objects.filter(id__in=run_ids, status=MetricRun.Status.RUNNING).update(
        status=MetricRun.Status.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
