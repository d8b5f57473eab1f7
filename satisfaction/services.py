"""Writes for the metrics: queue an update (coalesced), run one per survey at a time, replace snapshots.

Two ways to bring a survey's snapshots up to date, one derivation (``metrics_from_counts``):

- **full** (the truth: on demand, nightly, after bulk imports): read every response, count, derive every row,
  replace the survey's snapshots and its stored ``CellCount`` rows;
- **incremental** (one or a few changed responses): the change's additive counts were stored as ``CellDelta``
  rows in the writer's own transaction (``metrics_record_changes``); the run folds them into the stored cells and
  rewrites only the rows those cells feed. Counts are exact integers, so the result is the full recompute's,
  bit for bit.

One run per survey at a time: a run holds the survey's advisory lock (PostgreSQL) from claiming its requests to
committing its rows; a request made meanwhile opens a new pending run that runs after it (coalescing every
request made until then). A full run reads in a REPEATABLE READ transaction and deletes exactly the deltas that
transaction saw, so a change is counted once whichever way it reaches the counts. A running run beats
(``heartbeat_at``); the beat's flush hands a run whose worker died back to the queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from owners.models import Project
from satisfaction.events import metrics_changed_send, metrics_written_send
from satisfaction.metrics.engine import (
    CellCounts,
    cell_layout,
    cell_width,
    combine_counts,
    metrics_from_counts,
    slices_fed_by,
    survey_cell_counts,
)
from satisfaction.models import (
    CellCount,
    CellDelta,
    DriverSnapshot,
    ItemSnapshot,
    MetricRun,
    MetricSnapshot,
    SurveyCountState,
)
from satisfaction.selectors import survey_frame, survey_population, survey_question_specs
from surveys.answers import decode_answer_matrix
from surveys.models import Survey

logger = logging.getLogger(__name__)

# Several full requests made within this many seconds share one recompute; an incremental one starts at once.
COALESCE_SECONDS = 2
# The advisory-lock class of "one metrics run per survey" (the survey id is the second key).
LOCK_CLASS = 746_275_002
RUN = MetricRun.Status


class SurveyBusy(Exception):
    """Another run holds the survey (or a partitioned run is still counting): try again shortly."""


# --- Requests ----------------------------------------------------------------------------------------------------


def metrics_request_recompute(*, survey_id: int, kind: str = MetricRun.Kind.FULL) -> MetricRun:
    """Ask for a survey's numbers to be brought up to date, once the current transaction commits.

    Requests made while one is still pending join it (a full request turns a pending incremental run into a
    full one), so a busy entry clerk or a 10,000-row import triggers one run, not one per row.
    """
    requested = _run_requested_in_this_transaction(survey_id)
    if requested is not None:
        _widen(requested, kind)
        return requested
    pending = MetricRun.objects.filter(survey_id=survey_id, status=RUN.PENDING).order_by("-id").first()
    if pending is not None:
        _widen(pending, kind)
        # The pending run's worker may claim it and read before this transaction commits, and so miss this
        # change: once committed, make sure the run is still waiting, or ask again.
        _on_commit(pending, lambda: _recheck_joined_run(survey_id, pending.pk, kind))
        return pending
    run = MetricRun.objects.create(survey_id=survey_id, kind=kind, requested_at=timezone.now())
    metrics_changed_send(survey_id=survey_id)
    _on_commit(run, lambda: _enqueue(run))
    return run


def _widen(run: MetricRun, kind: str) -> None:
    if kind == MetricRun.Kind.FULL and run.kind != MetricRun.Kind.FULL:
        MetricRun.objects.filter(pk=run.pk, status=RUN.PENDING).update(kind=MetricRun.Kind.FULL)
        run.kind = MetricRun.Kind.FULL


def _on_commit(run: MetricRun, callback) -> None:
    callback.recompute_survey_id = run.survey_id
    callback.recompute_run_id = run.pk
    transaction.on_commit(callback)


def _run_requested_in_this_transaction(survey_id: int) -> MetricRun | None:
    """The still pending run this transaction already asked for on the survey's behalf (one request is enough)."""
    for _savepoints, callback, _robust in reversed(transaction.get_connection().run_on_commit):
        if getattr(callback, "recompute_survey_id", None) == survey_id:
            return MetricRun.objects.filter(pk=callback.recompute_run_id, status=RUN.PENDING).first()
    return None


def _recheck_joined_run(survey_id: int, run_id: int, kind: str) -> None:
    run = MetricRun.objects.filter(pk=run_id, status=RUN.PENDING).first()
    if run is not None and (run.kind == MetricRun.Kind.FULL or kind != MetricRun.Kind.FULL):
        return  # not claimed yet: its worker will read what is committed now
    metrics_request_recompute(survey_id=survey_id, kind=kind)


def _enqueue(run: MetricRun) -> None:
    from satisfaction.tasks import recompute_survey

    countdown = COALESCE_SECONDS if run.kind == MetricRun.Kind.FULL else 0
    try:
        recompute_survey.apply_async(args=[run.survey_id], countdown=countdown)
    except Exception:  # broker down: the run stays pending and the beat's flush queues it later
        logger.warning("recompute of survey %s queued for later: broker unavailable", run.survey_id, exc_info=True)


# --- Changes: their additive counts, stored with the change --------------------------------------------------------


def metrics_record_changes(*, survey_id: int, changes) -> MetricRun:
    """The receiver of ``surveys.events.responses_changed``, inside the writer's transaction.

    With the changes known and the survey's counts kept, store what the changes add to each project × stage
    cell (``CellDelta``: the counts of the responses after minus before) and ask for an incremental run;
    otherwise (a sender that cannot say, counts not kept yet, another questionnaire) ask for a full one.
    """
    if changes is None:
        return metrics_request_recompute(survey_id=survey_id)
    changes = [change for change in changes if change.before != change.after]
    if not changes:
        pending = MetricRun.objects.filter(survey_id=survey_id, status=RUN.PENDING).first()
        return pending or MetricRun(survey_id=survey_id, status=RUN.DONE)
    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    layout = cell_layout(specs)
    if not SurveyCountState.objects.filter(survey_id=survey_id, layout=layout).exists():
        return metrics_request_recompute(survey_id=survey_id)
    delta = _counts_of([c.after for c in changes if c.after], specs) - _counts_of(
        [c.before for c in changes if c.before], specs
    )
    CellDelta.objects.bulk_create(
        CellDelta(survey_id=survey_id, project_id=int(project), stage=stage, layout=layout,
                  counts=delta.cell(project, stage))
        for project, stage in delta.cells()
    )
    return metrics_request_recompute(survey_id=survey_id, kind=MetricRun.Kind.INCREMENTAL)


def _counts_of(states, specs) -> CellCounts:
    """The counts of some responses given as (project id, stage, answers); projects labelled by their id."""
    codes = [q.code for q in specs]
    if not states:
        return CellCounts.empty(specs)
    answers = pd.Series([state.answers for state in states], dtype=object)
    frame = pd.DataFrame(decode_answer_matrix(answers, len(codes)), columns=codes)
    frame.insert(0, "stage", [state.stage for state in states])
    frame.insert(0, "project", [str(state.project_id) for state in states])
    return survey_cell_counts(frame, specs)


# --- One run per survey at a time -------------------------------------------------------------------------------


@contextmanager
def survey_lock(survey_id: int, *, wait: float | None = None) -> Iterator[None]:
    """Hold the survey's metrics lock (a session-level PostgreSQL advisory lock; SQLite has one writer anyway).

    Waits up to ``wait`` seconds (``METRICS_LOCK_WAIT_SECONDS``), then raises ``SurveyBusy``. Taken outside any
    transaction, so that a REPEATABLE READ snapshot taken after it sees everything committed before it.
    """
    if connection.vendor != "postgresql":
        yield
        return
    deadline = time.monotonic() + (settings.METRICS_LOCK_WAIT_SECONDS if wait is None else wait)
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, int(survey_id)])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise SurveyBusy(f"survey {survey_id} is being recomputed")
            time.sleep(0.05)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, int(survey_id)])
        except Exception:  # the connection is gone, and the lock with it
            logger.warning("could not release the metrics lock of survey %s", survey_id, exc_info=True)


@contextmanager
def _snapshot_transaction() -> Iterator[None]:
    """A transaction that reads one snapshot throughout (REPEATABLE READ on PostgreSQL, set as its first
    statement; inside an outer transaction — a test's — the outer one's isolation stays)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def _stale_before() -> timezone.datetime:
    return timezone.now() - timedelta(seconds=settings.METRICS_STALE_SECONDS)


def _claim(survey_id: int) -> list[tuple[int, str]]:
    """Pending runs of the survey → running, as (id, kind). Refuses (``SurveyBusy``) while another run of the
    survey — a partitioned one, counting on other workers — is still alive."""
    with transaction.atomic():
        alive = MetricRun.objects.filter(survey_id=survey_id, status=RUN.RUNNING).filter(
            Q(heartbeat_at__gte=_stale_before()) | Q(heartbeat_at__isnull=True, started_at__gte=_stale_before())
        )
        if alive.exists():
            raise SurveyBusy(f"a run of survey {survey_id} is still counting")
        claimed = list(
            MetricRun.objects.select_for_update()
            .filter(survey_id=survey_id, status=RUN.PENDING)
            .order_by("id")
            .values_list("id", "kind")
        )
        if claimed:
            now = timezone.now()
            MetricRun.objects.filter(id__in=[i for i, _ in claimed]).update(
                status=RUN.RUNNING, started_at=now, heartbeat_at=now
            )
            metrics_changed_send(survey_id=survey_id)
    return claimed


@contextmanager
def _heartbeat(run_ids: Sequence[int]) -> Iterator[None]:
    """While the block runs, a thread marks the runs alive every ``METRICS_HEARTBEAT_SECONDS``."""
    if not run_ids or connection.vendor != "postgresql":
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.METRICS_HEARTBEAT_SECONDS):
                MetricRun.objects.filter(id__in=run_ids, status=RUN.RUNNING).update(heartbeat_at=timezone.now())
        except Exception:  # noqa: BLE001 - a missed beat only makes the flush rerun the survey
            logger.warning("metrics heartbeat stopped", exc_info=True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name="metrics-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _finish(run_ids: Sequence[int], *, survey_id: int, responses: int) -> None:
    with transaction.atomic():
        if run_ids:
            MetricRun.objects.filter(id__in=run_ids).exclude(status=RUN.DONE).update(
                status=RUN.DONE, finished_at=timezone.now(), responses=responses, error=""
            )
        else:
            now = timezone.now()
            MetricRun.objects.create(survey_id=survey_id, status=RUN.DONE, requested_at=now, started_at=now,
                                     finished_at=now, responses=responses)
        metrics_changed_send(survey_id=survey_id)
    metrics_written_send(survey_id=survey_id)


def _fail(run_ids: Sequence[int], *, survey_id: int, error: str) -> None:
    if run_ids:
        MetricRun.objects.filter(id__in=run_ids, status=RUN.RUNNING).update(
            status=RUN.FAILED, finished_at=timezone.now(), error=error[:2000]
        )
        metrics_changed_send(survey_id=survey_id)


def metrics_run(*, survey_id: int) -> int:
    """The task's work: claim the survey's pending runs under its lock and bring its snapshots up to date.

    Nothing pending (another worker already ran them): nothing to do. A full run claimed, or counts not kept: a
    full recompute (partitioned for a large survey on a real broker); else the deltas are folded in. Returns
    the number of responses counted, -1 when there was nothing to do, -2 when partitions were sent.
    Raises ``SurveyBusy`` while another run holds the survey.
    """
    with survey_lock(survey_id):
        claimed = _claim(survey_id)
        if not claimed:
            return -1
        run_ids = [run_id for run_id, _kind in claimed]
        full = any(kind == MetricRun.Kind.FULL for _id, kind in claimed)
        if full and metrics_should_partition(survey_id=survey_id):
            metrics_compute_partitioned(survey_id=survey_id, run_ids=run_ids)
            return -2
        try:
            with _heartbeat(run_ids):
                responses = _full(survey_id) if full else _incremental(survey_id)
        except Exception as exc:
            _fail(run_ids, survey_id=survey_id, error=str(exc))
            raise
        _finish(run_ids, survey_id=survey_id, responses=responses)
        return responses


def metrics_compute(*, survey_id: int) -> int:
    """Recompute every slice of one survey from its responses now, and finish its pending runs.

    Idempotent: a rerun (after a worker died, say) writes the same rows. Returns the number of responses read.
    """
    with survey_lock(survey_id):
        claimed = [run_id for run_id, _kind in _claim(survey_id)]
        try:
            with _heartbeat(claimed):
                responses = _full(survey_id)
        except Exception as exc:
            _fail(claimed, survey_id=survey_id, error=str(exc))
            raise
        _finish(claimed, survey_id=survey_id, responses=responses)
        return responses


def _full(survey_id: int) -> int:
    """Read every response, count, derive every row; replace snapshots and cells; drop the deltas seen."""
    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    with _snapshot_transaction():
        frame = survey_frame(survey=survey)
        population = survey_population(survey=survey)
        seen = list(CellDelta.objects.filter(survey_id=survey_id).values_list("id", flat=True))
        counts = survey_cell_counts(frame, specs)
        metrics = metrics_from_counts(counts, specs, population=population)
        now = timezone.now()
        metrics_write_snapshots(survey=survey, metrics=metrics, computed_at=now)
        _write_cells(survey_id, counts, specs, now, population)
        if seen:
            CellDelta.objects.filter(id__in=seen).delete()
    return len(frame)


def _incremental(survey_id: int) -> int:
    """Fold the survey's deltas into its stored cells and rewrite the rows those cells feed."""
    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    layout = cell_layout(specs)
    with transaction.atomic():
        deltas = list(
            CellDelta.objects.filter(survey_id=survey_id).order_by("id").values_list("id", "project_id", "stage",
                                                                                    "layout", "counts")
        )
        state = SurveyCountState.objects.filter(survey_id=survey_id, layout=layout).first()
        weighted = survey.weighting == Survey.Weighting.POPULATION
        # Weighting switched since the last full recompute (by a path that did not ask for one): recompute in full.
        if state is None or (state.population is not None) != weighted or any(row[3] != layout for row in deltas):
            return _full(survey_id)
        # The roster the last full recompute read: every slice weighs by the same one (a roster change reaches the
        # weighted figures at the next full recompute — nightly, after imports, on demand).
        population = {(project, stage): owners for project, stage, owners in state.population} if weighted else None
        stored = {
            (project_id, stage): (row_id, np.asarray(counts, dtype=np.int64))
            for row_id, project_id, stage, counts in CellCount.objects.filter(survey_id=survey_id).values_list(
                "id", "project_id", "stage", "counts"
            )
        }
        width = cell_width(specs)
        touched: dict[tuple[int, str], np.ndarray] = {}
        for _id, project_id, stage, _layout, counts in deltas:
            key = (project_id, stage)
            base = touched.get(key)
            if base is None:
                base = stored[key][1].copy() if key in stored else np.zeros(width, dtype=np.int64)
            touched[key] = base + np.asarray(counts, dtype=np.int64)
        if any((values < 0).any() for values in touched.values()):  # counts of responses are never negative
            logger.warning("survey %s: stored counts went negative, recomputing in full", survey_id)
            return _full(survey_id)
        for key, values in touched.items():
            if key in stored and not values.any():
                CellCount.objects.filter(pk=stored[key][0]).delete()
            elif key in stored:
                CellCount.objects.filter(pk=stored[key][0]).update(counts=values.tolist())
            elif values.any():
                CellCount.objects.create(survey_id=survey_id, project_id=key[0], stage=key[1], layout=layout,
                                         counts=values.tolist())
        cells = {key: value for key, (_id, value) in stored.items()} | touched
        codes = dict(Project.objects.filter(id__in={p for p, _s in cells}).values_list("id", "code"))
        counts = CellCounts.from_cells(specs, {(codes[p], s): v.tolist() for (p, s), v in cells.items()})
        changed = [(codes[p], s) for p, s in touched]
        metrics = metrics_from_counts(counts, specs, cells=changed, population=population)
        _replace_slices(survey, changed, codes, metrics, timezone.now())
        CellDelta.objects.filter(id__in=[row[0] for row in deltas]).delete()
    return counts.total_responses


def _population_json(population: dict | None) -> list | None:
    return None if population is None else [[p, s, n] for (p, s), n in sorted(population.items())]


def _write_cells(survey_id: int, counts: CellCounts, specs, computed_at, population: dict | None) -> None:
    layout = cell_layout(specs)
    ids = dict(Project.objects.filter(code__in=counts.projects).values_list("code", "id"))
    CellCount.objects.filter(survey_id=survey_id).delete()
    rows = [(survey_id, ids[project], stage, layout, counts.cell(project, stage)) for project, stage in counts.cells()]
    _insert(CellCount, ["survey_id", "project_id", "stage", "layout", "counts"], rows)
    SurveyCountState.objects.update_or_create(
        survey_id=survey_id,
        defaults={"layout": layout, "population": _population_json(population), "computed_at": computed_at},
    )


# --- Writing snapshot rows ---------------------------------------------------------------------------------------
# On PostgreSQL rows go in by COPY (about 3,800 rows for a 20-project survey in a few milliseconds); elsewhere by
# bulk_create. Readers see the old rows until the writing transaction commits.

_METRIC_COLUMNS = ["survey_id", "port", "project_id", "stage", "n", "satisfied", "satisfaction_rate",
                   "satisfaction_ci_low", "satisfaction_ci_high", "mean_score", "loyalty_base", "loyal",
                   "loyalty_rate", "loyalty_ci_low", "loyalty_ci_high", "weighted_rate", "weighted_ci_low",
                   "weighted_ci_high", "n_eff", "weighted_loyalty_rate", "weighted_loyalty_ci_low",
                   "weighted_loyalty_ci_high", "loyalty_n_eff", "weighted_missing_cells", "weighted_outside_cells",
                   "computed_at"]
_ITEM_COLUMNS = ["survey_id", "question_code", "port", "project_id", "stage", "n", "satisfied", "satisfaction_rate",
                 "satisfaction_ci_low", "satisfaction_ci_high", "mean_score", "computed_at"]
_DRIVER_COLUMNS = ["survey_id", "port", "project_id", "question_code", "pairs", "importance", "performance", "n",
                   "concentrate_here", "computed_at"]


def _ci(interval, index):
    return interval[index] if interval else None


def _cells(cells):
    return None if cells is None else [list(cell) for cell in cells]


def _snapshot_rows(survey_id: int, metrics, project_ids: dict, computed_at) -> tuple[list, list, list]:
    def pid(code):
        return project_ids[code] if code else None

    metric = [
        (survey_id, row.port or "", pid(row.project), row.stage or "", row.n, row.satisfied, row.satisfaction_rate,
         _ci(row.satisfaction_ci, 0), _ci(row.satisfaction_ci, 1), row.mean_score, row.loyalty_base, row.loyal,
         row.loyalty_rate, _ci(row.loyalty_ci, 0), _ci(row.loyalty_ci, 1), row.weighted_rate,
         _ci(row.weighted_ci, 0), _ci(row.weighted_ci, 1), row.n_eff, row.weighted_loyalty_rate,
         _ci(row.weighted_loyalty_ci, 0), _ci(row.weighted_loyalty_ci, 1), row.loyalty_n_eff,
         _cells(row.weighted_missing_cells), _cells(row.weighted_outside_cells), computed_at)
        for row in metrics.rows
    ]
    items = [
        (survey_id, row.question_code, row.port, pid(row.project), row.stage or "", row.n, row.satisfied,
         row.satisfaction_rate, _ci(row.satisfaction_ci, 0), _ci(row.satisfaction_ci, 1), row.mean_score,
         computed_at)
        for row in metrics.items
    ]
    drivers = [
        (survey_id, row.port or "", pid(row.project), row.question_code, row.pairs, row.importance, row.performance,
         row.n, row.concentrate_here, computed_at)
        for row in metrics.drivers
    ]
    return metric, items, drivers


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert plain rows (attnames in ``columns``): COPY on PostgreSQL, bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create((model(**dict(zip(columns, row, strict=True))) for row in rows), batch_size=2000)
        return
    fields = [model._meta.get_field(name.removesuffix("_id")) for name in columns]
    json_columns = {i for i, field in enumerate(fields) if field.get_internal_type() == "JSONField"}
    qn = connection.ops.quote_name
    sql = f"COPY {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if json_columns:
                # None stays SQL NULL (a JSON column that may be empty, like the weighted cell lists).
                row = tuple(json.dumps(v, separators=(",", ":")) if i in json_columns and v is not None else v
                            for i, v in enumerate(row))
            copy.write_row(row)


def metrics_write_snapshots(*, survey: Survey, metrics, computed_at) -> None:
    """Replace every snapshot row of the survey, in one transaction. Readers are told by the caller once it has
    committed (``_finish``): nothing else is written here, so a REPEATABLE READ run cannot collide with a writer."""
    project_ids = dict(Project.objects.values_list("code", "id"))
    metric, items, drivers = _snapshot_rows(survey.pk, metrics, project_ids, computed_at)
    with transaction.atomic():
        for model in (MetricSnapshot, ItemSnapshot, DriverSnapshot):
            model.objects.filter(survey=survey).delete()
        _insert(MetricSnapshot, _METRIC_COLUMNS, metric)
        _insert(ItemSnapshot, _ITEM_COLUMNS, items)
        _insert(DriverSnapshot, _DRIVER_COLUMNS, drivers)


def _replace_slices(survey: Survey, cells: list[tuple[str, str]], codes_by_id: dict, metrics, computed_at) -> None:
    """Replace the snapshot rows of the slices these cells feed (and the drivers of their projects)."""
    ids = {code: project_id for project_id, code in codes_by_id.items()}
    where = Q()
    for project, stage in slices_fed_by(cells):
        where |= (Q(project_id=ids[project]) if project else Q(project__isnull=True)) & Q(stage=stage or "")
    drivers = Q(project__isnull=True) | Q(project_id__in=[ids[project] for project, _stage in cells])
    metric, items, driver_rows = _snapshot_rows(survey.pk, metrics, ids, computed_at)
    MetricSnapshot.objects.filter(survey=survey).filter(where).delete()
    ItemSnapshot.objects.filter(survey=survey).filter(where).delete()
    DriverSnapshot.objects.filter(survey=survey).filter(drivers).delete()
    _insert(MetricSnapshot, _METRIC_COLUMNS, metric)
    _insert(ItemSnapshot, _ITEM_COLUMNS, items)
    _insert(DriverSnapshot, _DRIVER_COLUMNS, driver_rows)


# Partitioned recompute: several workers share one large survey ------------------------------------------------
# The engine derives every number from additive integer counts (``CellCounts``), so each worker counts a range of
# projects (``metrics_partial_compute``, in one REPEATABLE READ snapshot that also names the deltas of those
# projects it saw) and one callback adds the counts up, derives the rows exactly as the single task does and
# replaces the snapshots and cells in one transaction under the survey's lock (``metrics_combine_partials``),
# through a Celery chord. While the chord counts, its runs beat and other runs of the survey wait. A partition
# that dies is redelivered (acks_late) and recounted; until the callback commits, pages keep the previous snapshots.


def metrics_should_partition(*, survey_id: int) -> bool:
    """Large surveys on a real broker with a result backend (the chord needs one) go partitioned."""
    from surveys.models import Response

    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.CELERY_RESULT_BACKEND:
        return False
    return Response.objects.filter(survey_id=survey_id).count() >= settings.METRICS_PARTITION_MIN_RESPONSES


def metrics_partition_plan(*, survey_id: int, rows_per_partition: int | None = None) -> list[list[int]]:
    """Project ids in balanced groups of about ``rows_per_partition`` responses (largest projects placed first)."""
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


def metrics_compute_partitioned(*, survey_id: int, run_ids: list[int], plan: list[list[int]] | None = None) -> int:
    """Send one partial-count task per project group of the claimed runs' survey, combined by a chord.

    Returns the number of partitions sent. Idempotent: sent twice, both chords write the same snapshots.
    """
    from celery import chord, group

    from satisfaction.tasks import recompute_survey_combine, recompute_survey_failed, recompute_survey_partition

    plan = metrics_partition_plan(survey_id=survey_id) if plan is None else plan
    if not plan:  # no responses: an empty survey's snapshots are simply cleared
        metrics_combine_partials(survey_id=survey_id, partials=[], run_ids=run_ids, delta_ids=[])
        return 0
    header = group(recompute_survey_partition.s(survey_id, project_ids, run_ids) for project_ids in plan)
    body = recompute_survey_combine.s(survey_id, run_ids, plan).on_error(recompute_survey_failed.si(survey_id, run_ids))
    chord(header)(body)
    return len(plan)


def metrics_partial_compute(*, survey_id: int, project_ids: list[int], with_deltas: bool = False):
    """Additive counts of one group of projects' responses, as JSON-able lists (read-only: nothing is written).

    ``with_deltas``: also the ids of the deltas of those projects visible in the same snapshot (their changes are
    in these counts), as ``(counts, delta_ids)``.
    """
    from satisfaction.selectors import survey_frame_for_projects

    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    with _snapshot_transaction():
        frame = survey_frame_for_projects(survey=survey, project_ids=project_ids)
        seen = list(
            CellDelta.objects.filter(survey_id=survey_id, project_id__in=project_ids).values_list("id", flat=True)
        )
    counts = survey_cell_counts(frame, specs).as_dict()
    return (counts, seen) if with_deltas else counts


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
            by_group.setdefault(tuple(sorted(result["project_ids"])), result)
    partials, delta_ids = [], []
    for project_ids in plan:
        key = tuple(sorted(project_ids))
        if key not in by_group:
            logger.warning("survey %s: partition %s missing from the chord's results, counted now", survey_id, key)
            counts, seen = metrics_partial_compute(survey_id=survey_id, project_ids=list(key), with_deltas=True)
            by_group[key] = {"counts": counts, "delta_ids": seen}
        partials.append(by_group[key]["counts"])
        delta_ids += by_group[key].get("delta_ids", [])
    return metrics_combine_partials(survey_id=survey_id, partials=partials, run_ids=run_ids, delta_ids=delta_ids)


def metrics_combine_partials(
    *, survey_id: int, partials: list[dict], run_ids: list[int], delta_ids: list[int] | None = None
) -> int:
    """Add the partial counts up and, under the survey's lock, replace its snapshots and cells in one transaction,
    drop the deltas the partitions saw, and mark the runs done.

    A chord superseded by a later run that already finished (it claimed after this one's partitions read) writes
    nothing: its numbers would be older than those in place.
    """
    survey = Survey.objects.get(pk=survey_id)
    specs = survey_question_specs(survey=survey)
    counts = combine_counts([CellCounts.from_dict(part) for part in partials], specs)
    population = survey_population(survey=survey)
    metrics = metrics_from_counts(counts, specs, population=population)
    with survey_lock(survey_id):
        started = MetricRun.objects.filter(id__in=run_ids).order_by("started_at").values_list("started_at", flat=True)
        first = next(iter(started), None)
        superseded = first is not None and MetricRun.objects.filter(
            survey_id=survey_id, status=RUN.DONE, started_at__gt=first
        ).exclude(id__in=run_ids).exists()
        if not superseded:
            with transaction.atomic():
                now = timezone.now()
                metrics_write_snapshots(survey=survey, metrics=metrics, computed_at=now)
                _write_cells(survey_id, counts, specs, now, population)
                if delta_ids:
                    CellDelta.objects.filter(id__in=delta_ids).delete()
        _finish(run_ids, survey_id=survey_id, responses=counts.total_responses)
    return counts.total_responses


def metrics_mark_failed(*, survey_id: int, run_ids: list[int], error: str) -> int:
    """A partitioned run that gave up: its runs show as failed (the previous snapshots stay)."""
    failed = MetricRun.objects.filter(id__in=run_ids, status=RUN.RUNNING).update(
        status=RUN.FAILED, finished_at=timezone.now(), error=error[:2000]
    )
    metrics_changed_send(survey_id=survey_id)
    return failed


# --- Recovery (the beat) ------------------------------------------------------------------------------------------


def metrics_flush_pending() -> list[int]:
    """Surveys whose runs the broker never delivered or whose worker died, their runs pending again (to queue).

    A run pending for longer than ``METRICS_FLUSH_SECONDS`` was not picked up; a running run whose heartbeat is
    older than ``METRICS_STALE_SECONDS`` lost its worker (a live one beats every ``METRICS_HEARTBEAT_SECONDS``).
    Runs are idempotent, so queueing one twice costs time, never correctness.
    """
    now = timezone.now()
    waiting = Q(status=RUN.PENDING, requested_at__lt=now - timedelta(seconds=settings.METRICS_FLUSH_SECONDS))
    dead = Q(status=RUN.RUNNING) & (
        Q(heartbeat_at__lt=_stale_before()) | Q(heartbeat_at__isnull=True, started_at__lt=_stale_before())
    )
    with transaction.atomic():
        stale = list(MetricRun.objects.select_for_update().filter(dead).values_list("id", "survey_id"))
        if stale:
            logger.warning("metric runs %s lost their worker: queued again", [run_id for run_id, _ in stale])
            MetricRun.objects.filter(id__in=[run_id for run_id, _ in stale]).update(
                status=RUN.PENDING, started_at=None, heartbeat_at=None
            )
        surveys = {survey_id for _id, survey_id in stale}
        surveys |= set(MetricRun.objects.filter(waiting).values_list("survey_id", flat=True))
        # Deltas whose run is lost (committed while the broker was down, say): an incremental run folds them in.
        old = now - timedelta(seconds=settings.METRICS_FLUSH_SECONDS)
        for survey_id in set(CellDelta.objects.filter(created_at__lt=old).values_list("survey_id", flat=True)):
            if not MetricRun.objects.filter(survey_id=survey_id, status__in=[RUN.PENDING, RUN.RUNNING]).exists():
                MetricRun.objects.create(survey_id=survey_id, kind=MetricRun.Kind.INCREMENTAL, requested_at=now)
                surveys.add(survey_id)
        for survey_id in surveys:
            metrics_changed_send(survey_id=survey_id)
    return sorted(surveys)
