"""A large synthetic survey for benchmarks and fault drills (``manage.py seed_scale``).

Projects ``SCALE-01``…, one owner and one response per row, scores correlated with a per-project and a
per-owner level so that rates, drivers and the partitioned recompute have something real to chew on.
On PostgreSQL rows go in with COPY (a million responses in well under a minute); elsewhere with bulk_create.
Seeded rows carry no history records: they are test data, not entered by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.db import connection, models, transaction
from django.utils import timezone

from owners.models import Owner, Project
from owners.stages import STAGES
from surveys.answers import encode_answer_matrix
from surveys.models import Channel, Response, Survey
from surveys.selectors import survey_answer_questions
from surveys.services import survey_create

SURVEYED_ON = date(2026, 6, 15)
STAGE_CODES = np.array(STAGES)
CHANNELS = np.array(Channel.values)
# Days before the survey date that move-in may lie, per stage (bounds avoid the anniversaries).
STAGE_DAYS = {1: (0, 360), 2: (370, 725), 3: (735, 2500)}


@dataclass(frozen=True)
class SeedResult:
    survey: Survey
    projects: int
    responses: int


def _table_rows(model, rows: dict[str, np.ndarray | list], count: int) -> tuple[list[str], list[list]]:
    """Columns of every concrete field; the ones not given get the field's default."""
    columns, data = [], []
    for field in model._meta.concrete_fields:
        name = field.column
        columns.append(name)
        if name in rows:
            data.append(rows[name])
        else:
            default = field.get_default()
            if default is None and not field.null:
                default = "" if isinstance(field, models.CharField | models.TextField) else default
            data.append([default] * count)
    return columns, data


def _insert(model, rows: dict, count: int) -> None:
    if connection.vendor == "postgresql":
        _copy_postgresql(model, rows, count)
        return
    columns, data = _table_rows(model, rows, count)
    fields = {f.column: f.attname for f in model._meta.concrete_fields}
    objects = [
        model(**{fields[c]: (v.item() if hasattr(v, "item") else v) for c, v in zip(columns, values, strict=True)})
        for values in zip(*data, strict=True)
    ]
    model.objects.bulk_create(objects, batch_size=2000)


def _copy_postgresql(model, rows: dict, count: int) -> None:
    """COPY in CSV chunks written by pandas (vectorised); an empty field is NULL only in nullable columns."""
    columns, data = _table_rows(model, rows, count)
    table = model._meta.db_table
    not_null_text = [
        f.column
        for f in model._meta.concrete_fields
        if not f.null and isinstance(f, models.CharField | models.TextField)
    ]
    options = "FORMAT csv" + (f", FORCE_NOT_NULL ({', '.join(not_null_text)})" if not_null_text else "")
    chunk = 200_000
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({options})") as copy:
            for start in range(0, count, chunk):
                stop = min(start + chunk, count)
                frame = pd.DataFrame({name: column[start:stop] for name, column in zip(columns, data, strict=True)})
                copy.write(frame.to_csv(header=False, index=False, na_rep=""))


def _next_ids(model, count: int) -> np.ndarray:
    """Reserve a block of ids: take the table lock, start after the highest id, move the sequence past the block."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        first = cursor.fetchone()[0] + 1
    return np.arange(first, first + count, dtype=np.int64)


def _reset_sequence(model) -> None:
    if connection.vendor != "postgresql":
        return
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
        )


def _skip_row_triggers() -> bool:
    """On PostgreSQL, as a superuser, skip the per-row foreign-key triggers for this transaction.

    They are most of a million-row COPY's time; ``_check_references`` then checks every reference in two set-based
    queries before the transaction commits. Without the privilege the triggers simply run.
    """
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if not row or not row[0]:
            return False
        cursor.execute("SET LOCAL session_replication_role = replica")
    return True


def _check_references(survey_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = origin")
        cursor.execute(
            "SELECT count(*) FROM surveys_response r "
            "LEFT JOIN owners_owner o ON o.id = r.owner_id LEFT JOIN owners_project p ON p.id = r.project_id "
            "WHERE r.survey_id = %s AND (o.id IS NULL OR p.id IS NULL OR o.project_id <> r.project_id)",
            [survey_id],
        )
        broken = cursor.fetchone()[0]
    if broken:
        raise ValueError(f"{broken} seeded responses reference a missing owner or project")


def _scores(rng: np.random.Generator, project_index: np.ndarray, n_projects: int, questions) -> np.ndarray:
    """int8 matrix (responses × questions), 0 = not answered; correlated through project and owner levels."""
    count = len(project_index)
    project_level = rng.normal(0.0, 0.35, n_projects)[project_index]
    owner_level = rng.normal(3.9, 0.7, count)
    port_effect = {port: rng.normal(0.0, 0.25, count) for port in {q.port for q in questions if q.port}}
    matrix = np.zeros((count, len(questions)), dtype=np.int8)
    for j, q in enumerate(questions):
        noise = rng.normal(0.0, 0.6, count)
        level = owner_level + project_level + (port_effect[q.port] if q.port else 0.0)
        column = np.clip(np.rint(level + noise), 1, 5).astype(np.int8)
        if not q.required:
            column[rng.random(count) < (0.03 if q.kind != "detail" else 0.08)] = 0
        matrix[:, j] = column
    return matrix


@transaction.atomic
def scale_seed(*, survey_code: str, responses: int, projects: int, seed: int = 2026, replace: bool = False) -> SeedResult:
    """Create (or refill with ``replace``) survey ``survey_code`` with ``responses`` synthetic responses."""
    if responses < 1 or projects < 1:
        raise ValueError("responses and projects must be positive")
    survey = Survey.objects.filter(code=survey_code).first()
    if survey is None:
        survey = survey_create(
            code=survey_code,
            name=f"规模测试调查 {survey_code}",
            starts_on=SURVEYED_ON - timedelta(days=30),
            ends_on=SURVEYED_ON,
        )
    existing = Response.objects.filter(survey=survey)
    if existing.exists():
        if not replace:
            raise ValueError(f"调查“{survey_code}”已有答卷；要重新生成请加 --replace")
        # Raw deletes: seeded rows have no history to keep, and the ORM would fetch every row to record one.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM surveys_response WHERE survey_id = %s", [survey.pk])
            cursor.execute(
                "DELETE FROM owners_owner o WHERE o.unit LIKE %s AND NOT EXISTS "
                "(SELECT 1 FROM surveys_response r WHERE r.owner_id = o.id)",
                [f"S{survey.pk}-%"],
            )

    questions = survey_answer_questions(survey=survey)
    project_objs = []
    for p in range(1, projects + 1):
        project, _ = Project.objects.get_or_create(
            code=f"SCALE-{p:02d}", defaults={"name": f"规模测试楼盘{p:02d}", "city": "上海"}
        )
        project_objs.append(project)
    project_ids = np.array([p.pk for p in project_objs], dtype=np.int64)

    rng = np.random.default_rng(seed)
    # Uneven project sizes, as in life: some projects several times larger than others.
    weights = rng.uniform(0.3, 1.7, projects)
    project_index = rng.choice(projects, size=responses, p=weights / weights.sum())
    stage_index = rng.choice(4, size=responses, p=[0.1, 0.3, 0.25, 0.35])
    days = np.zeros(responses, dtype=np.int64)
    for s, (low, high) in STAGE_DAYS.items():
        mask = stage_index == s
        days[mask] = rng.integers(low, high + 1, int(mask.sum()))
    surveyed = np.datetime64(SURVEYED_ON.isoformat())
    move_in = np.where(stage_index == 0, None, (surveyed - days.astype("timedelta64[D]")).astype(str)).astype(object)
    move_in[stage_index == 0] = None

    fast = _skip_row_triggers()
    now = timezone.now()
    owner_ids = _next_ids(Owner, responses)
    sequence = np.arange(responses)
    units = np.char.add(f"S{survey.pk}-", sequence.astype(str))
    _insert(
        Owner,
        {
            "id": owner_ids,
            "project_id": project_ids[project_index],
            "unit": units,
            "name": np.char.add("业主", sequence.astype(str)),
            "phone": np.char.add("139", (10_000_000 + sequence % 90_000_000).astype(str)),
            "move_in_date": move_in,
            "created_at": [now] * responses,
            "updated_at": [now] * responses,
        },
        responses,
    )
    _reset_sequence(Owner)

    answers = encode_answer_matrix(_scores(rng, project_index, projects, questions))
    _insert(
        Response,
        {
            "id": _next_ids(Response, responses),
            "survey_id": [survey.pk] * responses,
            "owner_id": owner_ids,
            "project_id": project_ids[project_index],
            "questionnaire_no": np.char.add("Q", sequence.astype(str)),
            "surveyed_on": [SURVEYED_ON] * responses,
            "stage": STAGE_CODES[stage_index],
            "channel": CHANNELS[rng.integers(0, 4, responses)],
            "answers": answers,
            "created_at": [now] * responses,
            "updated_at": [now] * responses,
        },
        responses,
    )
    _reset_sequence(Response)
    if fast:
        _check_references(survey.pk)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Owner._meta.db_table}")
            cursor.execute(f"ANALYZE {Response._meta.db_table}")
    return SeedResult(survey=survey, projects=projects, responses=responses)
