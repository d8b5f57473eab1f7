"""The metrics engine: pure functions from survey answers to satisfaction and loyalty numbers (DESIGN.md §2).

No ORM here. ``compute_survey_metrics`` takes a pandas frame (one row per response: ``project``, ``stage``
and one integer column per question code, 0 = not answered) and returns dataclass rows for every slice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from dateutil.relativedelta import relativedelta

Z95 = 1.959963984540054
SIGNIFICANT_Z = 1.96
STAGES = ("prospective", "run_in", "stable", "veteran")
PORTS = ("design", "engineering", "sales", "service", "property")
HEADLINE_ITEMS = ("overall", "repurchase", "recommend")
SATISFIED_FROM = 4


def stage_as_of(move_in_date: date | None, surveyed_on: date) -> str:
    """The owner's lifecycle stage on the survey date; both bounds count ("以内"/"以上" include the bound)."""
    if move_in_date is None or move_in_date > surveyed_on:
        return "prospective"
    if surveyed_on <= move_in_date + relativedelta(years=1):
        return "run_in"
    if surveyed_on < move_in_date + relativedelta(years=2):
        return "stable"
    return "veteran"


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % Wilson score interval of successes / n; None when n = 0."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding would leave it a hair inside, excluding p itself.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return (low, high)


@dataclass(frozen=True)
class ChangeTest:
    z: float | None
    p_value: float | None
    significant: bool


def two_proportion_change(x1: int, n1: int, x2: int, n2: int) -> ChangeTest:
    """Unpooled two-proportion z-test of p2 − p1; significant at |z| > 1.96."""
    if n1 == 0 or n2 == 0:
        return ChangeTest(None, None, False)
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    if se == 0:
        return ChangeTest(None, None, False) if p1 == p2 else ChangeTest(math.copysign(math.inf, p2 - p1), 0.0, True)
    z = (p2 - p1) / se
    p_value = math.erfc(abs(z) / math.sqrt(2))
    return ChangeTest(z, p_value, abs(z) > SIGNIFICANT_Z)


def target_status(ci: Sequence[float] | None, target: float | None) -> str:
    """met / missed / undetermined: a target counts only when the whole interval is above / below it."""
    if ci is None or target is None:
        return "undetermined"
    low, high = ci
    if low > target:
        return "met"
    if high < target:
        return "missed"
    return "undetermined"


@dataclass(frozen=True)
class QuestionSpec:
    code: str
    kind: str  # headline | port | detail
    port: str = ""


@dataclass(frozen=True)
class MetricRow:
    """One row of the metric-row contract (DESIGN.md §4)."""

    port: str | None
    project: str | None
    stage: str | None
    n: int
    satisfied: int
    satisfaction_rate: float | None
    satisfaction_ci: tuple[float, float] | None
    mean_score: float | None
    loyalty_base: int | None = None
    loyal: int | None = None
    loyalty_rate: float | None = None
    loyalty_ci: tuple[float, float] | None = None

    def as_contract(self, survey_code: str) -> dict:
        return {
            "survey": survey_code,
            "port": self.port,
            "project": self.project,
            "stage": self.stage,
            "n": self.n,
            "satisfied": self.satisfied,
            "satisfaction_rate": self.satisfaction_rate,
            "satisfaction_ci": list(self.satisfaction_ci) if self.satisfaction_ci else None,
            "mean_score": self.mean_score,
            "loyalty_base": self.loyalty_base,
            "loyal": self.loyal,
            "loyalty_rate": self.loyalty_rate,
            "loyalty_ci": list(self.loyalty_ci) if self.loyalty_ci else None,
        }


@dataclass(frozen=True)
class ItemRow:
    question_code: str
    port: str
    project: str | None
    stage: str | None
    n: int
    satisfied: int
    satisfaction_rate: float | None
    satisfaction_ci: tuple[float, float] | None
    mean_score: float | None


@dataclass(frozen=True)
class DriverRow:
    port: str | None  # None = drivers of headline satisfaction
    project: str | None
    question_code: str
    pairs: int
    importance: float | None
    performance: float | None
    n: int
    concentrate_here: bool


@dataclass
class SurveyMetrics:
    rows: list[MetricRow] = field(default_factory=list)
    items: list[ItemRow] = field(default_factory=list)
    drivers: list[DriverRow] = field(default_factory=list)


def _rate(k: int, n: int) -> float | None:
    return k / n if n else None


LEVELS = 6  # a score column holds 0 (not answered) or 1–5
_SCORE_VALUES = np.arange(LEVELS, dtype=np.int64)


class _Cells:
    """Integer counts in every project × stage cell; the all-project / all-stage margins are sums of cells.

    Each count is one integer ``np.bincount`` over a combined index (cell × score), which is several times faster
    than a weighted (float) bincount per statistic and exact by construction.
    """

    def __init__(self, project_index: np.ndarray, stage_index: np.ndarray, n_projects: int):
        self.n_projects = n_projects
        self.size = n_projects * len(STAGES)
        self.cell = (project_index * len(STAGES) + stage_index).astype(np.intp)
        self.cell_levels = self.cell * LEVELS

    def count(self) -> np.ndarray:
        """Responses per cell, shape (n_projects, n_stages)."""
        return np.bincount(self.cell, minlength=self.size).reshape(self.n_projects, len(STAGES))

    def score_table(self, column: np.ndarray) -> np.ndarray:
        """How many responses gave each score (0–5) in each cell, shape (n_projects, n_stages, 6)."""
        counts = np.bincount(self.cell_levels + column, minlength=self.size * LEVELS)
        return counts.reshape(self.n_projects, len(STAGES), LEVELS)


def _slices(responses: np.ndarray, projects: Sequence[str]):
    """Yield (project code or None, stage or None, project index or None, stage index or None) for every slice
    whose project × stage cell holds at least one response."""
    yield None, None, None, None
    for p, code in enumerate(projects):
        if responses[p].sum() > 0:
            yield code, None, p, None
    for s, stage in enumerate(STAGES):
        if responses[:, s].sum() > 0:
            yield None, stage, None, s
    for p, code in enumerate(projects):
        for s, stage in enumerate(STAGES):
            if responses[p, s] > 0:
                yield code, stage, p, s


def _pick(table: np.ndarray, p: int | None, s: int | None) -> int | float:
    if p is None and s is None:
        return table.sum()
    if s is None:
        return table[p].sum()
    if p is None:
        return table[:, s].sum()
    return table[p, s]


def _score_matrix(frame: pd.DataFrame, codes: Sequence[str]) -> np.ndarray:
    """Scores as an int8 matrix, 0 = not answered (NaN and missing columns included).

    Column-major, so that each question's column is contiguous for the per-question counts.
    """
    matrix = np.zeros((len(frame), len(codes)), dtype=np.int8, order="F")
    for j, code in enumerate(codes):
        if code in frame.columns:
            column = frame[code]
            if column.dtype.kind == "f" or column.hasnans:
                column = column.fillna(0)
            values = column.to_numpy()
            if len(values) and (values.min() < 0 or values.max() >= LEVELS):
                raise ValueError(f"scores of {code} must be 1–5, or 0 / NaN when not answered")
            matrix[:, j] = values
    return matrix


def pearson_from_sums(n: int, sx: int, sy: int, sxx: int, syy: int, sxy: int) -> float | None:
    """Pearson r from exact integer moments (scores are integers).

    Independent of row order, so per-partition sums combined by a partitioned recompute give the very same
    float as one pass over all rows, and a rerun gives the same bits whatever order the database returns.
    """
    n, sx, sy, sxx, syy, sxy = (int(v) for v in (n, sx, sy, sxx, syy, sxy))
    if n < 2:
        return None
    covariance = n * sxy - sx * sy
    var_x = n * sxx - sx * sx
    var_y = n * syy - sy * sy
    if var_x <= 0 or var_y <= 0:
        return None
    return max(-1.0, min(1.0, covariance / math.sqrt(var_x * var_y)))


def _driver_moments(project_index: np.ndarray, n_projects: int, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Joint score counts of item x and outcome y per project, shape (n_projects + 1, 6, 6); the last = all."""
    joint = np.bincount(project_index * (LEVELS * LEVELS) + x * LEVELS + y, minlength=n_projects * LEVELS * LEVELS)
    joint = joint.reshape(n_projects, LEVELS, LEVELS)
    return np.concatenate([joint, joint.sum(axis=0, keepdims=True)])


def _drivers(
    tables: np.ndarray, items: Sequence[str], port: str | None, project: str | None, which: int
) -> list[DriverRow]:
    """Driver rows of one outcome in one project (``which``) from the joint tables of its items."""
    measured = []
    for i, code in enumerate(items):
        table = tables[i, which]  # [x score, y score]
        n = int(table[1:].sum())
        performance = _rate(int(table[SATISFIED_FROM:].sum()), n)
        both = table[1:, 1:]
        values = _SCORE_VALUES[1:]
        x_counts, y_counts = both.sum(axis=1), both.sum(axis=0)
        importance = pearson_from_sums(
            both.sum(),
            (x_counts * values).sum(),
            (y_counts * values).sum(),
            (x_counts * values * values).sum(),
            (y_counts * values * values).sum(),
            (values[:, None] * values[None, :] * both).sum(),
        )
        measured.append((code, int(both.sum()), importance, performance, n))
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


def compute_survey_metrics(frame: pd.DataFrame, questions: Sequence[QuestionSpec]) -> SurveyMetrics:
    """Every slice of one survey: headline and each port × all/each project × all/each stage.

    ``frame`` has one row per response with columns ``project`` (code), ``stage`` (stage code) and one
    integer column per question code (1–5, 0 or NaN = not answered; a missing column = not asked).
    """
    result = SurveyMetrics()
    codes = [q.code for q in questions]
    column = {code: j for j, code in enumerate(codes)}
    if len(frame) == 0:
        return result

    project_index, projects = pd.factorize(frame["project"], sort=True)
    if (project_index < 0).any():
        raise ValueError("response without a project in frame")
    stage_index = pd.Index(STAGES).get_indexer(frame["stage"])
    if (stage_index < 0).any():
        raise ValueError("unknown stage in frame")
    project_index = project_index.astype(np.intp)
    cells = _Cells(project_index, stage_index.astype(np.intp), len(projects))
    projects = [str(p) for p in projects]
    scores = _score_matrix(frame, codes)
    responses = cells.count()

    counts = {}
    for code, j in column.items():
        table = cells.score_table(scores[:, j])
        counts[code] = (
            table[..., 1:].sum(axis=-1),
            table[..., SATISFIED_FROM:].sum(axis=-1),
            (table * _SCORE_VALUES).sum(axis=-1),
        )

    loyalty = None
    if all(code in column for code in HEADLINE_ITEMS):
        trio = scores[:, [column[code] for code in HEADLINE_ITEMS]]
        # 0 = not in the base, 1 = in the base but not loyal, 2 = loyal
        status = (trio > 0).all(axis=1).astype(np.intp) + (trio >= SATISFIED_FROM).all(axis=1)
        table = np.bincount(cells.cell * 3 + status, minlength=cells.size * 3).reshape(len(projects), len(STAGES), 3)
        loyalty = (table[..., 1:].sum(axis=-1), table[..., 2])

    port_items = {q.port: q.code for q in questions if q.kind == "port"}
    outcomes: list[tuple[str | None, str]] = [(None, "overall")]
    outcomes += [(port, port_items[port]) for port in PORTS if port in port_items]
    outcomes += [(port, code) for port, code in port_items.items() if port not in PORTS]

    slices = list(_slices(responses, projects))
    for port, code in outcomes:
        answered_t, satisfied_t, sum_t = counts[code] if code in counts else (None, None, None)
        for project, stage, p, s in slices:
            n = int(_pick(answered_t, p, s)) if answered_t is not None else 0
            k = int(_pick(satisfied_t, p, s)) if satisfied_t is not None else 0
            total = int(_pick(sum_t, p, s)) if sum_t is not None else 0
            loyalty_fields = {}
            if port is None:
                if loyalty is not None:
                    lb, ll = int(_pick(loyalty[0], p, s)), int(_pick(loyalty[1], p, s))
                else:
                    lb, ll = 0, 0
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
        answered_t, satisfied_t, sum_t = counts[q.code]
        for project, stage, p, s in slices:
            n = int(_pick(answered_t, p, s))
            k = int(_pick(satisfied_t, p, s))
            total = int(_pick(sum_t, p, s))
            result.items.append(
                ItemRow(q.code, q.port, project, stage, n, k, _rate(k, n), wilson_interval(k, n), total / n if n else None)
            )

    detail_items = [q for q in questions if q.kind == "detail"]
    driver_sets: list[tuple[str | None, str, list[str]]] = [(None, "overall", [q.code for q in detail_items])]
    for port, code in outcomes[1:]:
        driver_sets.append((port, code, [q.code for q in detail_items if q.port == port]))
    for port, outcome, items in driver_sets:
        if not items or outcome not in column:
            continue
        y = scores[:, column[outcome]].astype(np.intp)
        tables = np.stack(
            [_driver_moments(project_index, len(projects), scores[:, column[code]].astype(np.intp), y) for code in items]
        )
        result.drivers += _drivers(tables, items, port, None, len(projects))
        for p, project in enumerate(projects):
            result.drivers += _drivers(tables, items, port, project, p)
    return result
