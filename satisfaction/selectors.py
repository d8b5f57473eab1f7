"""Reads for the metrics: the response frame for the engine, and the snapshots pages show."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Max

from departments.ports import PORTS
from departments.selectors import ports_visible_to, user_has_any_role
from owners.stages import STAGES
from satisfaction.metrics.engine import QuestionSpec, two_proportion_change
from satisfaction.models import MetricRun, MetricSnapshot
from surveys.answers import NOT_ANSWERED, answer_codes, decode_answer_matrix
from surveys.models import Survey
from surveys.selectors import survey_answer_questions, survey_order_key


def survey_question_specs(*, survey: Survey) -> list[QuestionSpec]:
    """The engine's questions: those of the answer string, in its order."""
    return [QuestionSpec(q.code, q.kind, q.port) for q in survey_answer_questions(survey=survey)]


def _survey_codes(survey: Survey) -> list[str]:
    return answer_codes(survey_answer_questions(survey=survey))


def _read_rows(survey_id: int, *, copy: bool) -> pd.DataFrame:
    sql = (
        "SELECT p.code AS project, r.stage AS stage, r.answers AS answers "
        "FROM surveys_response r JOIN owners_project p ON p.id = r.project_id "
        "WHERE r.survey_id = %s"
    )
    with connection.cursor() as cursor:
        if copy:
            # COPY streams a million rows several times faster than a cursor fetch.
            buffer = io.BytesIO()
            copy_sql = f"COPY ({sql.replace('%s', str(int(survey_id)))}) TO STDOUT WITH (FORMAT csv)"
            with cursor.cursor.copy(copy_sql) as copy:
                for block in copy:
                    buffer.write(block)
            buffer.seek(0)
            return pd.read_csv(
                buffer, header=None, names=["project", "stage", "answers"], dtype=str, keep_default_na=False
            )
        cursor.execute(sql, [survey_id])
        return pd.DataFrame(cursor.fetchall(), columns=["project", "stage", "answers"])


def survey_frame(*, survey: Survey, copy: bool | None = None) -> pd.DataFrame:
    """One row per response: project code, stage, and one int8 score column per question (0 = not answered).

    ``copy`` reads with PostgreSQL's COPY (the default there: binary, CSV with ``copy=True``); False fetches
    through the cursor.
    """
    codes = _survey_codes(survey)
    if copy is None and connection.vendor == "postgresql" and codes:
        # Binary COPY of fixed-width tuples (see survey_frame_for_projects): about half the CSV path's time.
        frame = _read_binary(survey.pk, None, codes)
        if frame is not None:
            return frame
    rows = _read_rows(survey.pk, copy=connection.vendor == "postgresql" if copy is None else copy)
    matrix = decode_answer_matrix(rows["answers"], len(codes))
    scores = pd.DataFrame(matrix, columns=codes)
    scores.insert(0, "stage", rows["stage"].to_numpy())
    scores.insert(0, "project", rows["project"].to_numpy())
    return scores


def survey_population_date(*, survey: Survey):
    """The date the population's stages are taken at: the survey's period start; without one, its first
    response's survey date; without responses, today."""
    from django.db.models import Min
    from django.utils import timezone

    from surveys.models import Response

    if survey.starts_on:
        return survey.starts_on
    first = Response.objects.filter(survey=survey).aggregate(first=Min("surveyed_on"))["first"]
    return first or timezone.localdate()


def survey_population(*, survey: Survey) -> dict[tuple[str, str], int] | None:
    """The owner population a weighted survey is weighted to (DESIGN.md §2 "Weighting"), None when the survey is
    not weighted: {(project code, stage): owners} over every owner of the survey's projects (its target projects,
    or every project when it names none), each in the stage as of ``survey_population_date``."""
    from django.db.models import Count

    from owners.models import Owner, Project
    from owners.stages import stage_as_of

    if survey.weighting != Survey.Weighting.POPULATION:
        return None
    on = survey_population_date(survey=survey)
    owners = Owner.objects.all()
    target = list(survey.target_projects.values_list("id", flat=True))
    if target:
        owners = owners.filter(project_id__in=target)
    # One GROUP BY on the owner table alone (no join), then the stage once per distinct move-in date.
    grouped = list(owners.values_list("project_id", "move_in_date").annotate(owners=Count("id")).order_by())
    codes = dict(Project.objects.filter(id__in={p for p, _m, _n in grouped}).values_list("id", "code"))
    stages: dict = {}
    population: dict[tuple[str, str], int] = {}
    for project_id, move_in, count in grouped:
        stage = stages.get(move_in)
        if stage is None:
            stage = stages[move_in] = stage_as_of(move_in, on)
        key = (codes[project_id], stage)
        population[key] = population.get(key, 0) + count
    return population


def metric_run_state(*, survey: Survey) -> dict:
    """The fill state, in one query: when the survey's numbers were computed (the last finished run) and whether a
    recompute is pending or running."""
    by_status = dict(
        MetricRun.objects.filter(survey=survey).values_list("status").annotate(last=Max("finished_at")).order_by()
    )
    return {
        "computed_at": by_status.get(MetricRun.Status.DONE),
        "pending": MetricRun.Status.PENDING in by_status or MetricRun.Status.RUNNING in by_status,
    }


def headline_snapshot(*, survey: Survey) -> MetricSnapshot | None:
    return MetricSnapshot.objects.filter(survey=survey, port="", project__isnull=True, stage="").first()


def port_snapshots_for_user(*, survey: Survey, user) -> list[MetricSnapshot]:
    """Whole-survey rows of the ports this user may see, in port order."""
    visible = ports_visible_to(user)
    rows = MetricSnapshot.objects.filter(survey=survey, project__isnull=True, stage="", port__in=visible)
    return sorted(rows, key=lambda row: PORTS.index(row.port))


# --- Change against the previous wave of the same series (DESIGN.md §2 "Change") ---------------------------------
#
# A slice's previous figure is the same slice (port, project, stage) in the latest earlier wave of the survey's
# series (waves ordered by period start) in which that slice has n > 0 — for the loyalty rate, a loyalty base > 0.
# Waves of other series never serve. Read from the snapshots every time, so that a recompute of an older wave
# moves every later wave's change with it; one query for the series' earlier waves, one for their snapshots.

SliceKey = tuple[str, int | None, str]  # (port, project id or None, stage)


@dataclass(frozen=True)
class PreviousFigure:
    survey_code: str
    successes: int
    n: int


def series_earlier_waves(*, survey: Survey) -> list[Survey]:
    """The waves of the survey's series that come before it (by period start), latest first."""
    key = survey_order_key(survey)
    waves = Survey.objects.filter(series_id=survey.series_id).exclude(pk=survey.pk).only(
        "id", "code", "series_id", "starts_on", "created_at"
    )
    return sorted((w for w in waves if survey_order_key(w) < key), key=survey_order_key, reverse=True)


def previous_figures_in_series(
    *, survey: Survey, ports: frozenset[str] | None = None
) -> tuple[dict[SliceKey, PreviousFigure], dict[SliceKey, PreviousFigure]]:
    """({slice: previous satisfaction figure}, {slice: previous loyalty figure}) of every slice that has one."""
    earlier = series_earlier_waves(survey=survey)
    if not earlier:
        return {}, {}
    rank = {wave.pk: index for index, wave in enumerate(earlier)}
    code = {wave.pk: wave.code for wave in earlier}
    rows = MetricSnapshot.objects.filter(survey_id__in=list(rank))
    if ports is not None:
        rows = rows.filter(port__in=["", *ports])
    satisfaction: dict[SliceKey, tuple[int, PreviousFigure]] = {}
    loyalty: dict[SliceKey, tuple[int, PreviousFigure]] = {}
    for survey_id, port, project_id, stage, n, satisfied, base, loyal in rows.order_by().values_list(
        "survey_id", "port", "project_id", "stage", "n", "satisfied", "loyalty_base", "loyal"
    ):
        key = (port, project_id, stage)
        order = rank[survey_id]
        if n and (key not in satisfaction or order < satisfaction[key][0]):
            satisfaction[key] = (order, PreviousFigure(code[survey_id], satisfied, n))
        if base and (key not in loyalty or order < loyalty[key][0]):
            loyalty[key] = (order, PreviousFigure(code[survey_id], loyal or 0, base))
    return {k: v for k, (_, v) in satisfaction.items()}, {k: v for k, (_, v) in loyalty.items()}


def change_as_contract(previous: PreviousFigure | None, successes: int | None, n: int | None) -> dict | None:
    """The contract's ``change``: null without a previous figure (or without a current one), else the unpooled
    two-proportion z-test of (this − previous). Without variance on either side z is null (JSON has no
    infinity): the test is undefined when both rates are equal (p null, not significant), and a certain change
    when they differ (0 % → 100 %: p = 0, significant)."""
    if previous is None or not n:
        return None
    test = two_proportion_change(previous.successes, previous.n, successes or 0, n)
    return {
        "from_survey": previous.survey_code,
        "z": test.z if test.z is not None and math.isfinite(test.z) else None,
        "p_value": test.p_value,
        "significant": test.significant,
    }


def metric_rows(*, survey: Survey, ports: frozenset[str] | None = None) -> list[dict]:
    """Snapshot rows in the metric-row contract (DESIGN.md §4); ``ports`` limits port rows (headline always).
    Each row carries its ``change`` (headline rows also ``loyalty_change``) against the previous wave of the
    survey's series."""
    qs = MetricSnapshot.objects.filter(survey=survey).select_related("project")
    previous, previous_loyalty = previous_figures_in_series(survey=survey, ports=ports)
    rows = []
    for s in qs.order_by("port", "project__code", "stage", "id"):
        if ports is not None and s.port and s.port not in ports:
            continue
        row = snapshot_as_contract(s, survey.code)
        key = (s.port, s.project_id, s.stage)
        row["change"] = change_as_contract(previous.get(key), s.satisfied, s.n)
        row["loyalty_change"] = (
            change_as_contract(previous_loyalty.get(key), s.loyal, s.loyalty_base) if s.port == "" else None
        )
        rows.append(row)
    # The headline first, then the ports in their order; all stages first, then each stage in lifecycle order.
    order = {code: rank for rank, code in enumerate(("", *PORTS))}
    stage_order = {code: rank for rank, code in enumerate((None, *STAGES))}
    rows.sort(key=lambda r: (order.get(r["port"] or "", 9), r["project"] or "", stage_order.get(r["stage"], 9)))
    return rows


def snapshot_as_contract(s: MetricSnapshot, survey_code: str) -> dict:
    def ci(low, high):
        return [low, high] if low is not None else None

    headline = s.port == ""
    return {
        "survey": survey_code,
        "port": s.port or None,
        "project": s.project.code if s.project_id else None,
        "stage": s.stage or None,
        "n": s.n,
        "satisfied": s.satisfied,
        "satisfaction_rate": s.satisfaction_rate,
        "satisfaction_ci": ci(s.satisfaction_ci_low, s.satisfaction_ci_high),
        "mean_score": s.mean_score,
        "loyalty_base": s.loyalty_base if headline else None,
        "loyal": s.loyal if headline else None,
        "loyalty_rate": s.loyalty_rate if headline else None,
        "loyalty_ci": ci(s.loyalty_ci_low, s.loyalty_ci_high) if headline else None,
        "weighted_rate": s.weighted_rate,
        "weighted_ci": ci(s.weighted_ci_low, s.weighted_ci_high),
        "n_eff": s.n_eff,
        "weighted_loyalty_rate": s.weighted_loyalty_rate if headline else None,
        "weighted_loyalty_ci": ci(s.weighted_loyalty_ci_low, s.weighted_loyalty_ci_high) if headline else None,
        "loyalty_n_eff": s.loyalty_n_eff if headline else None,
        "weighted_missing_cells": s.weighted_missing_cells,
        "weighted_outside_cells": s.weighted_outside_cells,
    }


def survey_project_sizes(*, survey: Survey) -> dict[int, int]:
    """Responses per project id in one survey (to plan a partitioned recompute)."""
    from django.db.models import Count

    from surveys.models import Response

    rows = Response.objects.filter(survey=survey).values_list("project_id").annotate(n=Count("id")).order_by()
    return {project_id: n for project_id, n in rows}


def survey_frame_for_projects(*, survey: Survey, project_ids: list[int] | None = None) -> pd.DataFrame:
    """``survey_frame`` restricted to some projects (None = all): one partition of a partitioned recompute.

    On PostgreSQL the rows come as binary COPY of fixed-width tuples (project id, stage number, the answer string
    padded to the questionnaire), parsed by one ``np.frombuffer``: no CSV parsing, no per-row Python.
    """
    codes = _survey_codes(survey)
    ids = None if project_ids is None else [int(i) for i in project_ids]
    if ids == []:
        return _frame(pd.Series([], dtype=object), pd.Series([], dtype=object), np.zeros((0, len(codes)), dtype=np.int8), codes)
    if connection.vendor == "postgresql" and codes:
        frame = _read_binary(survey.pk, ids, codes)
        if frame is not None:
            return frame
    sql = (
        "SELECT p.code AS project, r.stage AS stage, r.answers AS answers "
        "FROM surveys_response r JOIN owners_project p ON p.id = r.project_id WHERE r.survey_id = %s"
    )
    params: list = [survey.pk]
    if ids is not None:
        sql += f" AND r.project_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = pd.DataFrame(cursor.fetchall(), columns=["project", "stage", "answers"])
    matrix = decode_answer_matrix(rows["answers"], len(codes))
    return _frame(rows["project"], rows["stage"], matrix, codes)


def _frame(projects, stages, matrix: np.ndarray, codes: list[str]) -> pd.DataFrame:
    scores = pd.DataFrame(matrix, columns=codes)
    scores.insert(0, "stage", stages.to_numpy() if hasattr(stages, "to_numpy") else stages)
    scores.insert(0, "project", projects.to_numpy() if hasattr(projects, "to_numpy") else projects)
    return scores


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _read_binary(survey_id: int, ids: list[int] | None, codes: list[str]) -> pd.DataFrame | None:
    """Binary COPY → frame; None when a tuple is not of the expected fixed layout (the caller falls back)."""
    from owners.models import Project

    width = len(codes)
    stage_case = " ".join(f"WHEN '{code}' THEN {i}" for i, code in enumerate(STAGES))
    where = f"r.survey_id = {int(survey_id)}"
    if ids is not None:
        where += f" AND r.project_id IN ({', '.join(str(i) for i in ids)})"
    sql = (
        f"SELECT r.project_id::int8, COALESCE(CASE r.stage {stage_case} END, -1)::int2, "
        f"rpad(r.answers, {width}, '{NOT_ANSWERED}') FROM surveys_response r WHERE {where}"
    )
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT binary)") as copy:
        for block in copy:
            buffer.write(block)
    data = buffer.getbuffer()
    header = 19
    row = np.dtype(
        [("fields", ">i2"), ("l1", ">i4"), ("project", ">i8"), ("l2", ">i4"), ("stage", ">i2"), ("l3", ">i4"),
         ("answers", f"S{width}")]
    )
    body = len(data) - header - 2
    if bytes(data[:11]) != _COPY_SIGNATURE or body < 0 or body % row.itemsize:
        return None
    tuples = np.frombuffer(data, dtype=row, count=body // row.itemsize, offset=header)
    if len(tuples) and not (
        (tuples["fields"] == 3).all() and (tuples["l1"] == 8).all() and (tuples["l2"] == 2).all()
        and (tuples["l3"] == width).all()
    ):
        return None
    matrix = decode_answer_matrix(tuples["answers"], width)
    project_ids = tuples["project"].astype(np.int64)
    present = np.unique(project_ids)
    code_of = dict(Project.objects.filter(id__in=present.tolist()).values_list("id", "code"))
    categories = sorted(code_of[i] for i in present.tolist())
    position = {code: i for i, code in enumerate(categories)}
    lookup = np.zeros(int(present.max()) + 1 if len(present) else 1, dtype=np.int64)
    for project_id in present.tolist():
        lookup[project_id] = position[code_of[project_id]]
    projects = pd.Categorical.from_codes(lookup[project_ids], categories=categories)
    stage_numbers = tuples["stage"].astype(np.int64)
    if (stage_numbers < 0).any():
        stages = np.array(STAGES + ("unknown",), dtype=object)[stage_numbers]
    else:
        stages = pd.Categorical.from_codes(stage_numbers, categories=list(STAGES))
    scores = pd.DataFrame(matrix, columns=codes)
    scores.insert(0, "stage", stages)
    scores.insert(0, "project", projects)
    return scores


def metric_rows_visible_to(user, *, survey) -> list[dict]:
    """The survey's metric rows (DESIGN §4 contract): the headline, and port rows of the ports this user may see."""
    if not user_has_any_role(user):
        return []
    return metric_rows(survey=survey, ports=ports_visible_to(user))
