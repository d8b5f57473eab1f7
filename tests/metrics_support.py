"""Random survey answers for the metrics tests, and a survey in the database holding exactly those answers."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from departments.ports import PORTS
from owners.stages import STAGES
from satisfaction.metrics.engine import QuestionSpec
from surveys.questionnaires import STANDARD

QUESTIONS = [QuestionSpec(q.code, q.kind, q.port) for q in STANDARD]
# Weighted to the owner population: null unless the survey is weighted.
WEIGHTED_KEYS = [
    "weighted_rate", "weighted_ci", "n_eff", "weighted_loyalty_rate", "weighted_loyalty_ci", "loyalty_n_eff",
    "weighted_missing_cells", "weighted_outside_cells",
]  # fmt: skip
# What the engine computes for one survey; the stored rows add the change against the series' previous wave.
ENGINE_KEYS = [
    "survey", "port", "project", "stage", "n", "satisfied", "satisfaction_rate", "satisfaction_ci",
    "mean_score", "loyalty_base", "loyal", "loyalty_rate", "loyalty_ci", *WEIGHTED_KEYS,
]  # fmt: skip
CONTRACT_KEYS = [*ENGINE_KEYS, "change", "loyalty_change"]


def without_changes(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in ("change", "loyalty_change")}


def random_frame(seed: int, size: int, projects: int = 4, *, drivers: bool = False) -> pd.DataFrame:
    """Random answers with NaN gaps; stages drawn unevenly so that some project × stage cells stay empty.

    Project P0 never answers the property port as veterans, so slices with n = 0 appear. With ``drivers``
    the port items follow their detail items, so the correlations are not all near zero.
    """
    rng = np.random.default_rng(seed)
    codes = [f"P{i}" for i in range(projects)]
    frame = pd.DataFrame({"project": rng.choice(codes, size), "stage": rng.choice(STAGES, size, p=[0.1, 0.2, 0.3, 0.4])})
    for q in QUESTIONS:
        # Skewed towards 4 and 5 like real answers; about a tenth not answered.
        scores = rng.choice([1, 2, 3, 4, 5], size, p=[0.05, 0.07, 0.18, 0.35, 0.35]).astype(float)
        scores[rng.random(size) < 0.1] = np.nan
        frame[q.code] = scores
    if drivers:
        for port in PORTS:
            details = [q.code for q in QUESTIONS if q.kind == "detail" and q.port == port]
            latent = frame[details].fillna(3).mean(axis=1) + rng.normal(0, 0.8, size)
            frame[port] = np.where(frame[port].isna(), np.nan, latent.round().clip(1, 5))
    frame.loc[(frame["project"] == "P0") & (frame["stage"] == "veteran"), "property"] = np.nan
    return frame


def answers_of(frame: pd.DataFrame) -> list[str]:
    """The answer string of each row, in the standard questionnaire's order ('-' = not answered)."""
    columns = [frame[q.code].to_numpy() if q.code in frame.columns else np.full(len(frame), np.nan) for q in QUESTIONS]
    return ["".join("-" if np.isnan(v) else str(int(v)) for v in row) for row in zip(*columns, strict=True)]


def survey_with_answers(code: str, frame: pd.DataFrame, *, surveyed_on: date = date(2026, 5, 1), series: str = "company"):
    """A standard survey (of ``series``) whose responses carry exactly ``frame``'s projects, stages and scores."""
    from owners.models import Owner, Project
    from surveys.models import Response
    from surveys.services import survey_create

    survey = survey_create(
        code=code, name=f"测试调查 {code}", series=series, starts_on=surveyed_on, ends_on=surveyed_on
    )
    projects = {}
    for project_code in sorted(frame["project"].unique()):
        projects[project_code], _ = Project.objects.get_or_create(code=project_code, defaults={"name": f"楼盘{project_code}"})
    owners = Owner.objects.bulk_create(
        Owner(project=projects[p], unit=f"{code}-{i}", name=f"业主{i}") for i, p in enumerate(frame["project"])
    )
    Response.objects.bulk_create(
        Response(
            survey=survey,
            owner=owner,
            project=owner.project,
            questionnaire_no=f"{code}-{i:05d}",
            surveyed_on=surveyed_on,
            stage=stage,
            answers=answers,
        )
        for i, (owner, stage, answers) in enumerate(zip(owners, frame["stage"], answers_of(frame), strict=True))
    )
    return survey


def snapshot_values(survey) -> dict[str, list[tuple]]:
    """Every stored value of a survey's snapshots (ids and computation times aside), in a stable order."""
    from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricSnapshot

    result = {}
    for model in (MetricSnapshot, ItemSnapshot, DriverSnapshot):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "computed_at")]
        rows = model.objects.filter(survey=survey).values_list(*fields)
        result[model.__name__] = sorted(rows, key=repr)
    return result
