"""Additive partial counts of a survey, so that several workers can share one large recompute.

Every number the engine derives is a function of counts that add up across disjoint sets of responses:
per question and project × stage cell the answers given, the satisfied answers and the sum of scores; the
loyalty base and loyal responses per cell; and, for the key drivers, per project the 5 × 5 table of joint
(item, outcome) scores, from which the exact integer moments n, Σx, Σy, Σx², Σy², Σxy of Pearson's r follow.

``partial_counts`` turns a frame of some projects' responses into such counts (plain JSON-able lists, so a
Celery chord can carry them); ``combine_partials`` adds them up and derives the same rows, in the same order,
as ``engine.compute_survey_metrics`` — bit for bit, which ``tests/test_partitioned_recompute.py`` checks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from satisfaction.metrics.engine import (
    HEADLINE_ITEMS,
    PORTS,
    SATISFIED_FROM,
    STAGES,
    DriverRow,
    ItemRow,
    MetricRow,
    QuestionSpec,
    SurveyMetrics,
    _pick,
    _rate,
    _score_matrix,
    _slices,
    pearson_from_sums,
    wilson_interval,
)

SCORES = 5
_VALUES = np.arange(1, SCORES + 1, dtype=np.int64)


def _outcomes(questions: Sequence[QuestionSpec]) -> list[tuple[str | None, str]]:
    """(port or None, outcome item) in the engine's order."""
    port_items = {q.port: q.code for q in questions if q.kind == "port"}
    outcomes: list[tuple[str | None, str]] = [(None, "overall")]
    outcomes += [(port, port_items[port]) for port in PORTS if port in port_items]
    outcomes += [(port, code) for port, code in port_items.items() if port not in PORTS]
    return outcomes


def _driver_sets(questions: Sequence[QuestionSpec]) -> list[tuple[str | None, str, list[str]]]:
    """(port, outcome, detail items) in the engine's order; sets without items or outcome are left out."""
    codes = {q.code for q in questions}
    detail = [q for q in questions if q.kind == "detail"]
    outcomes = _outcomes(questions)
    sets = [(None, "overall", [q.code for q in detail])]
    sets += [(port, code, [q.code for q in detail if q.port == port]) for port, code in outcomes[1:]]
    return [(port, outcome, items) for port, outcome, items in sets if items and outcome in codes]


def partial_counts(frame: pd.DataFrame, questions: Sequence[QuestionSpec]) -> dict:
    """Additive counts of the responses in ``frame`` (same columns as the engine's frame)."""
    codes = [q.code for q in questions]
    column = {code: j for j, code in enumerate(codes)}
    if len(frame) == 0:
        return {"projects": [], "codes": codes}
    project_index, projects = pd.factorize(frame["project"], sort=True)
    stage_index = pd.Categorical(frame["stage"], categories=STAGES).codes
    if (stage_index < 0).any():
        raise ValueError("unknown stage in frame")
    n_projects = len(projects)
    size = n_projects * len(STAGES)
    cell = project_index.astype(np.int64) * len(STAGES) + stage_index.astype(np.int64)
    scores = _score_matrix(frame, codes)

    def per_cell(mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> list:
        chosen = cell if mask is None else cell[mask]
        w = None if weights is None else (weights if mask is None else weights[mask])
        counts = np.bincount(chosen, weights=w, minlength=size)
        return counts.round().astype(np.int64).reshape(n_projects, len(STAGES)).tolist()

    items = {}
    for code, j in column.items():
        x = scores[:, j]
        items[code] = {
            "answered": per_cell(x > 0),
            "satisfied": per_cell(x >= SATISFIED_FROM),
            "total": per_cell(None, x.astype(np.float64)),
        }
    loyalty = None
    if all(code in column for code in HEADLINE_ITEMS):
        trio = scores[:, [column[code] for code in HEADLINE_ITEMS]]
        loyalty = {"base": per_cell((trio > 0).all(axis=1)), "loyal": per_cell((trio >= SATISFIED_FROM).all(axis=1))}

    joint = {}
    project64 = project_index.astype(np.int64)
    for _port, outcome, driver_items in _driver_sets(questions):
        y = scores[:, column[outcome]].astype(np.int64)
        for code in driver_items:
            key = f"{code}|{outcome}"
            if key in joint:
                continue
            x = scores[:, column[code]].astype(np.int64)
            both = (x > 0) & (y > 0)
            index = project64[both] * SCORES * SCORES + (x[both] - 1) * SCORES + (y[both] - 1)
            table = np.bincount(index, minlength=n_projects * SCORES * SCORES)
            joint[key] = table.reshape(n_projects, SCORES * SCORES).tolist()
    return {
        "projects": [str(p) for p in projects],
        "codes": codes,
        "responses": per_cell(),
        "items": items,
        "loyalty": loyalty,
        "joint": joint,
    }


def _merge(partials: Sequence[dict], codes: list[str]):
    """Sum the partials onto one project axis (sorted codes, as the engine's factorize sorts them)."""
    projects = sorted({p for part in partials for p in part["projects"]})
    position = {code: i for i, code in enumerate(projects)}
    shape = (len(projects), len(STAGES))

    def blank(width: int = len(STAGES)) -> np.ndarray:
        return np.zeros((len(projects), width), dtype=np.int64)

    responses = blank()
    items = {code: {"answered": blank(), "satisfied": blank(), "total": blank()} for code in codes}
    loyalty = {"base": blank(), "loyal": blank()}
    has_loyalty = True
    joint: dict[str, np.ndarray] = {}
    for part in partials:
        if part["codes"] != codes:
            raise ValueError("partials of different questionnaires cannot be combined")
        if not part["projects"]:
            continue
        rows = np.array([position[p] for p in part["projects"]], dtype=np.int64)
        np.add.at(responses, rows, np.array(part["responses"], dtype=np.int64))
        for code in codes:
            for key in ("answered", "satisfied", "total"):
                np.add.at(items[code][key], rows, np.array(part["items"][code][key], dtype=np.int64))
        if part["loyalty"] is None:
            has_loyalty = False
        else:
            for key in ("base", "loyal"):
                np.add.at(loyalty[key], rows, np.array(part["loyalty"][key], dtype=np.int64))
        for key, table in part["joint"].items():
            joint.setdefault(key, blank(SCORES * SCORES))
            np.add.at(joint[key], rows, np.array(table, dtype=np.int64))
    assert responses.shape == shape
    return projects, responses, items, (loyalty if has_loyalty else None), joint


def _moments(table: np.ndarray) -> tuple[int, int, int, int, int, int]:
    """n, Σx, Σy, Σx², Σy², Σxy of a 5 × 5 joint score table (rows x, columns y)."""
    t = table.reshape(SCORES, SCORES)
    x_margin = t.sum(axis=1)
    y_margin = t.sum(axis=0)
    return (
        int(t.sum()),
        int((x_margin * _VALUES).sum()),
        int((y_margin * _VALUES).sum()),
        int((x_margin * _VALUES * _VALUES).sum()),
        int((y_margin * _VALUES * _VALUES).sum()),
        int((t * np.outer(_VALUES, _VALUES)).sum()),
    )


def combine_partials(partials: Sequence[dict], questions: Sequence[QuestionSpec]) -> SurveyMetrics:
    """The engine's rows for the union of the partials' responses (see the module docstring)."""
    result = SurveyMetrics()
    codes = [q.code for q in questions]
    projects, responses, items, loyalty, joint = _merge(partials, codes)
    if not projects or responses.sum() == 0:
        return result

    slices = list(_slices(responses, projects))
    for port, code in _outcomes(questions):
        counts = items.get(code)
        for project, stage, p, s in slices:
            n = int(_pick(counts["answered"], p, s)) if counts else 0
            k = int(_pick(counts["satisfied"], p, s)) if counts else 0
            total = float(_pick(counts["total"], p, s)) if counts else 0.0
            loyalty_fields = {}
            if port is None:
                lb, ll = (int(_pick(loyalty["base"], p, s)), int(_pick(loyalty["loyal"], p, s))) if loyalty else (0, 0)
                loyalty_fields = {
                    "loyalty_base": lb,
                    "loyal": ll,
                    "loyalty_rate": _rate(ll, lb),
                    "loyalty_ci": wilson_interval(ll, lb),
                }
            result.rows.append(
                MetricRow(
                    port=port,
                    project=project,
                    stage=stage,
                    n=n,
                    satisfied=k,
                    satisfaction_rate=_rate(k, n),
                    satisfaction_ci=wilson_interval(k, n),
                    mean_score=total / n if n else None,
                    **loyalty_fields,
                )
            )

    for q in questions:
        counts = items[q.code]
        for project, stage, p, s in slices:
            n = int(_pick(counts["answered"], p, s))
            k = int(_pick(counts["satisfied"], p, s))
            total = float(_pick(counts["total"], p, s))
            result.items.append(
                ItemRow(q.code, q.port, project, stage, n, k, _rate(k, n), wilson_interval(k, n), total / n if n else None)
            )

    for port, outcome, driver_items in _driver_sets(questions):
        scopes: list[tuple[str | None, int | None]] = [(None, None)] + [(code, p) for p, code in enumerate(projects)]
        for project, p in scopes:
            measured = []
            for code in driver_items:
                table = joint[f"{code}|{outcome}"]
                table = table.sum(axis=0) if p is None else table[p]
                n = int(_pick(items[code]["answered"], p, None))
                performance = _rate(int(_pick(items[code]["satisfied"], p, None)), n)
                moments = _moments(table)
                measured.append((code, moments[0], pearson_from_sums(*moments), performance, n))
            result.drivers += _driver_rows(measured, port, project)
    return result


def _driver_rows(measured, port: str | None, project: str | None) -> list[DriverRow]:
    """The engine's quadrant rule: concentrate here = importance above the median, performance below it."""
    complete = [m for m in measured if m[2] is not None and m[3] is not None]
    if complete:
        median_importance = float(np.median([m[2] for m in complete]))
        median_performance = float(np.median([m[3] for m in complete]))
    rows = []
    for code, pairs, importance, performance, n in measured:
        concentrate = (
            bool(complete)
            and importance is not None
            and performance is not None
            and importance > median_importance
            and performance < median_performance
        )
        rows.append(DriverRow(port, project, code, pairs, importance, performance, n, concentrate))
    return rows
