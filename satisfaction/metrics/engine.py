"""The metrics engine: pure functions from survey answers to satisfaction and loyalty numbers (DESIGN.md §2).

No ORM here. ``compute_survey_metrics`` takes a pandas frame (one row per response: ``project``, ``stage``
and one integer column per question code, 0 = not answered) and returns dataclass rows for every slice, in two
stages: ``survey_cell_counts`` (frame → additive integer ``CellCounts``) and ``metrics_from_counts`` (counts →
rows). A partitioned recompute counts each group of projects apart, adds the counts and runs the second stage
once, so it gives the single pass's rows bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median

import numpy as np
import pandas as pd

from departments.ports import PORTS
from owners.stages import STAGES

Z95 = 1.959963984540054
SIGNIFICANT_Z = 1.96
HEADLINE_ITEMS = ("overall", "repurchase", "recommend")
SATISFIED_FROM = 4
# A figure over fewer answers than this is shown greyed as 样本不足 (too few); pages, exports and charts ask here.
TOO_FEW_N = 30


def too_few(n: int) -> bool:
    """Whether a figure over ``n`` answers is too few to read (greyed as 样本不足)."""
    return n < TOO_FEW_N


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % Wilson score interval of successes / n; None when n = 0."""
    if n <= 0:
        return None
    return wilson_at(successes / n, n, z)


def wilson_at(p: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson formula at a rate ``p`` and a (possibly fractional) sample size ``n`` — the weighted interval
    takes p = the weighted rate and n = the Kish effective n. None when n = 0. At n integer and p = k / n it is
    ``wilson_interval(k, n)`` bit for bit (one formula)."""
    if n <= 0:
        return None
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
    # At k = 0 and k = n the bound is exactly 0 or 1; rounding would leave it a hair inside, excluding p itself.
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
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
    # Weighted to the owner population (None when the survey is not weighted; loyalty ones None on port rows).
    weighted_rate: float | None = None
    weighted_ci: tuple[float, float] | None = None
    n_eff: float | None = None
    weighted_loyalty_rate: float | None = None
    weighted_loyalty_ci: tuple[float, float] | None = None
    loyalty_n_eff: float | None = None
    weighted_missing_cells: tuple[tuple[str, str], ...] | None = None
    weighted_outside_cells: tuple[tuple[str, str], ...] | None = None

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
            "weighted_rate": self.weighted_rate,
            "weighted_ci": list(self.weighted_ci) if self.weighted_ci else None,
            "n_eff": self.n_eff,
            "weighted_loyalty_rate": self.weighted_loyalty_rate,
            "weighted_loyalty_ci": list(self.weighted_loyalty_ci) if self.weighted_loyalty_ci else None,
            "loyalty_n_eff": self.loyalty_n_eff,
            "weighted_missing_cells": _cell_list(self.weighted_missing_cells),
            "weighted_outside_cells": _cell_list(self.weighted_outside_cells),
        }


def _cell_list(cells) -> list[list[str]] | None:
    return None if cells is None else [list(cell) for cell in cells]


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


# --- stage 1: additive counts ------------------------------------------------------------------------------
# Every number the engine reports is a function of integer counts that add up across disjoint sets of responses:
# per question and project × stage cell the answers given, the satisfied answers and the sum of scores; the
# loyalty base and loyal responses per cell; and, for the key drivers, per project the exact integer moments
# n, Σx, Σy, Σx², Σy², Σxy of each (detail item, outcome) pair. ``survey_cell_counts`` counts a frame,
# ``CellCounts.__add__`` adds the counts of several frames (a partitioned recompute), ``metrics_from_counts``
# derives the rows. Counts are exact integers, so the rows do not depend on how the responses were split.

LEVELS = 6  # a score column holds 0 (not answered) or 1–5
_SCORE_VALUES = np.arange(LEVELS, dtype=np.int64)
MOMENTS = ("n", "sx", "sy", "sxx", "syy", "sxy")


def _moment_weights() -> np.ndarray:
    """(x score × y score, moment): what one response with scores (x, y) adds to each moment; 0 unless both answered."""
    x, y = np.divmod(np.arange(LEVELS * LEVELS, dtype=np.int64), LEVELS)
    both = (x > 0) & (y > 0)
    return np.stack([both, x, y, x * x, y * y, x * y], axis=1) * both[:, None]


_MOMENT_WEIGHTS = _moment_weights()


def _outcomes(questions: Sequence[QuestionSpec]) -> list[tuple[str | None, str]]:
    """(port or None for headline, outcome item) in report order: headline, the known ports, then any others."""
    port_items = {q.port: q.code for q in questions if q.kind == "port"}
    outcomes: list[tuple[str | None, str]] = [(None, "overall")]
    outcomes += [(port, port_items[port]) for port in PORTS if port in port_items]
    outcomes += [(port, code) for port, code in port_items.items() if port not in PORTS]
    return outcomes


def _driver_sets(questions: Sequence[QuestionSpec]) -> list[tuple[str | None, str, list[str]]]:
    """(port, outcome, detail items) in report order; sets without items or without the outcome are left out."""
    codes = {q.code for q in questions}
    detail = [q for q in questions if q.kind == "detail"]
    outcomes = _outcomes(questions)
    sets = [(None, "overall", [q.code for q in detail])]
    sets += [(port, code, [q.code for q in detail if q.port == port]) for port, code in outcomes[1:]]
    return [(port, outcome, items) for port, outcome, items in sets if items and outcome in codes]


def _driver_pairs(questions: Sequence[QuestionSpec]) -> tuple[tuple[str, str], ...]:
    """Every (detail item, outcome) pair whose moments the drivers need, once each."""
    return tuple(dict.fromkeys((item, outcome) for _, outcome, items in _driver_sets(questions) for item in items))


@dataclass(frozen=True, eq=False)
class CellCounts:
    """Additive integer counts of a set of responses to one questionnaire (see the section comment above).

    Arrays are int64 and every count is kept per project × stage cell: ``responses`` (project, stage);
    ``answered``, ``satisfied``, ``score_sum`` (question, project, stage); ``loyalty_base``, ``loyal``
    (project, stage), zero when the questionnaire lacks a headline item; ``moments`` (pair, project, stage,
    moment) in ``MOMENTS`` order (the drivers add them over the stages of a project). Counts are additive, so the
    counts of a change are ``counts(after) − counts(before)`` and may be negative; stored counts plus the
    counts of every later change equal the counts of the responses as they now are.
    """

    codes: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]
    projects: tuple[str, ...]
    responses: np.ndarray
    answered: np.ndarray
    satisfied: np.ndarray
    score_sum: np.ndarray
    loyalty_base: np.ndarray
    loyal: np.ndarray
    moments: np.ndarray

    ARRAYS = ("responses", "answered", "satisfied", "score_sum", "loyalty_base", "loyal", "moments")
    PROJECT_AXIS = {"responses": 0, "answered": 1, "satisfied": 1, "score_sum": 1, "loyalty_base": 0, "loyal": 0,
                    "moments": 1}

    @classmethod
    def empty(cls, questions: Sequence[QuestionSpec]) -> CellCounts:
        codes = tuple(q.code for q in questions)
        return cls._zeros(codes, _driver_pairs(questions), ())

    @classmethod
    def _zeros(
        cls, codes: tuple[str, ...], pairs: tuple[tuple[str, str], ...], projects: tuple[str, ...]
    ) -> CellCounts:
        p, s, q = len(projects), len(STAGES), len(codes)
        shapes = {
            "responses": (p, s),
            "answered": (q, p, s),
            "satisfied": (q, p, s),
            "score_sum": (q, p, s),
            "loyalty_base": (p, s),
            "loyal": (p, s),
            "moments": (len(pairs), p, s, len(MOMENTS)),
        }
        return cls(codes, pairs, projects, **{name: np.zeros(shapes[name], dtype=np.int64) for name in cls.ARRAYS})

    @property
    def total_responses(self) -> int:
        return int(self.responses.sum())

    def __add__(self, other: CellCounts) -> CellCounts:
        """The counts of both sets of responses; projects present in both are added cell by cell."""
        if not isinstance(other, CellCounts):
            return NotImplemented
        if self.codes != other.codes or self.pairs != other.pairs:
            raise ValueError("counts of different questionnaires cannot be combined")
        # Sorted codes: the same project axis as pd.factorize(sort=True) gives a single frame.
        total = self._zeros(self.codes, self.pairs, tuple(sorted(set(self.projects) | set(other.projects))))
        position = {code: i for i, code in enumerate(total.projects)}
        for part in (self, other):
            rows = np.array([position[code] for code in part.projects], dtype=np.intp)
            for name in self.ARRAYS:
                # Each part lists a project once, so a fancy-indexed += adds every row.
                getattr(total, name)[self._along_projects(name, rows)] += getattr(part, name)
        return total

    @classmethod
    def _along_projects(cls, name: str, rows) -> tuple:
        index = [slice(None)] * (cls.PROJECT_AXIS[name] + 1)
        index[-1] = rows
        return tuple(index)

    def __neg__(self) -> CellCounts:
        return CellCounts(self.codes, self.pairs, self.projects, **{name: -getattr(self, name) for name in self.ARRAYS})

    def __sub__(self, other: CellCounts) -> CellCounts:
        if not isinstance(other, CellCounts):
            return NotImplemented
        return self + (-other)

    def cell(self, project: str, stage: str) -> list[int]:
        """The counts of one project × stage cell as one flat list of ints (``cell_layout`` order), for storage."""
        p, s = self.projects.index(project), STAGES.index(stage)
        parts = [
            [self.responses[p, s], self.loyalty_base[p, s], self.loyal[p, s]],
            self.answered[:, p, s], self.satisfied[:, p, s], self.score_sum[:, p, s],
            self.moments[:, p, s, :].ravel(),
        ]
        return np.concatenate([np.asarray(part, dtype=np.int64).ravel() for part in parts]).tolist()

    def cells(self) -> list[tuple[str, str]]:
        """(project, stage) of every cell holding a count other than zero."""
        nonzero = np.zeros((len(self.projects), len(STAGES)), dtype=bool)
        for name in self.ARRAYS:
            table = getattr(self, name)
            axes = tuple(i for i in range(table.ndim) if i not in (self.PROJECT_AXIS[name], self.PROJECT_AXIS[name] + 1))
            nonzero |= (table != 0).any(axis=axes) if axes else table != 0
        return [(self.projects[p], STAGES[s]) for p, s in zip(*np.nonzero(nonzero), strict=True)]

    @classmethod
    def from_cells(cls, questions: Sequence[QuestionSpec], cells: dict[tuple[str, str], Sequence[int]]) -> CellCounts:
        """Counts rebuilt from stored cells ({(project, stage): flat list from ``cell``}); projects whose cells
        hold no response are left out, as ``survey_cell_counts`` never lists a project without responses."""
        codes, pairs = tuple(q.code for q in questions), _driver_pairs(questions)
        width = cell_width(questions)
        kept = sorted({p for (p, _s), flat in cells.items() if len(flat) == width and flat[0] != 0})
        bad = [key for key, flat in cells.items() if len(flat) != width]
        if bad:
            raise ValueError(f"stored cells {bad[:3]} do not fit this questionnaire")
        counts = cls._zeros(codes, pairs, tuple(kept))
        position = {code: i for i, code in enumerate(kept)}
        q, m = len(codes), len(pairs) * len(MOMENTS)
        for (project, stage), flat in cells.items():
            if project not in position:
                continue
            p, s = position[project], STAGES.index(stage)
            flat = np.asarray(flat, dtype=np.int64)
            counts.responses[p, s], counts.loyalty_base[p, s], counts.loyal[p, s] = flat[:3]
            counts.answered[:, p, s] = flat[3 : 3 + q]
            counts.satisfied[:, p, s] = flat[3 + q : 3 + 2 * q]
            counts.score_sum[:, p, s] = flat[3 + 2 * q : 3 + 3 * q]
            counts.moments[:, p, s, :] = flat[3 + 3 * q : 3 + 3 * q + m].reshape(len(pairs), len(MOMENTS))
        return counts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CellCounts):
            return NotImplemented
        return (self.codes, self.pairs, self.projects) == (other.codes, other.pairs, other.projects) and all(
            np.array_equal(getattr(self, name), getattr(other, name)) for name in self.ARRAYS
        )

    __hash__ = None  # mutable arrays inside

    def as_dict(self) -> dict:
        """Plain JSON-able lists, so that a Celery chord can carry the counts between workers."""
        return {
            "codes": list(self.codes),
            "pairs": [list(pair) for pair in self.pairs],
            "projects": list(self.projects),
            **{name: getattr(self, name).tolist() for name in self.ARRAYS},
        }

    @classmethod
    def from_dict(cls, data: dict) -> CellCounts:
        shape = cls._zeros(tuple(data["codes"]), tuple(tuple(p) for p in data["pairs"]), tuple(data["projects"]))
        # reshape: a list of zero projects loses the inner dimensions.
        arrays = {name: np.array(data[name], dtype=np.int64).reshape(getattr(shape, name).shape) for name in cls.ARRAYS}
        return cls(shape.codes, shape.pairs, shape.projects, **arrays)


def combine_counts(parts: Sequence[CellCounts], questions: Sequence[QuestionSpec]) -> CellCounts:
    """The sum of several partitions' counts (none: the counts of no responses)."""
    total = CellCounts.empty(questions)
    for part in parts:
        total = total + part
    return total


def cell_width(questions: Sequence[QuestionSpec]) -> int:
    """How many integers one stored cell holds: responses, loyalty base, loyal, then per question the answers,
    the satisfied answers and the score sum, then the driver moments of every pair."""
    return 3 + 3 * len(questions) + len(_driver_pairs(questions)) * len(MOMENTS)


def cell_layout(questions: Sequence[QuestionSpec]) -> str:
    """A short name of the stored cells' layout: stored counts of another questionnaire are never mixed in."""
    import hashlib

    text = repr((tuple(q.code for q in questions), _driver_pairs(questions), MOMENTS))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def survey_cell_counts(frame: pd.DataFrame, questions: Sequence[QuestionSpec]) -> CellCounts:
    """The additive counts of the responses in ``frame`` (columns as for ``compute_survey_metrics``).

    Each count is one integer ``np.bincount`` over a combined index (cell × score, or project × x × y), which is
    several times faster than a weighted (float) bincount per statistic and exact by construction.
    """
    if len(frame) == 0:
        return CellCounts.empty(questions)
    codes = tuple(q.code for q in questions)
    column = {code: j for j, code in enumerate(codes)}
    project_index, project_codes = pd.factorize(frame["project"], sort=True)
    if (project_index < 0).any():
        raise ValueError("response without a project in frame")
    stage_index = pd.Index(STAGES).get_indexer(frame["stage"])
    if (stage_index < 0).any():
        raise ValueError("unknown stage in frame")
    counts = CellCounts._zeros(codes, _driver_pairs(questions), tuple(str(p) for p in project_codes))
    n_projects, n_stages = len(project_codes), len(STAGES)
    size = n_projects * n_stages
    project_index = project_index.astype(np.intp)
    cell = project_index * n_stages + stage_index.astype(np.intp)
    cell_levels = cell * LEVELS
    scores = _score_matrix(frame, codes)

    counts.responses[...] = np.bincount(cell, minlength=size).reshape(n_projects, n_stages)
    for j in range(len(codes)):
        table = np.bincount(cell_levels + scores[:, j], minlength=size * LEVELS).reshape(n_projects, n_stages, LEVELS)
        counts.answered[j] = table[..., 1:].sum(axis=-1)
        counts.satisfied[j] = table[..., SATISFIED_FROM:].sum(axis=-1)
        counts.score_sum[j] = (table * _SCORE_VALUES).sum(axis=-1)

    if all(code in column for code in HEADLINE_ITEMS):
        trio = scores[:, [column[code] for code in HEADLINE_ITEMS]]
        # 0 = not in the base, 1 = in the base but not loyal, 2 = loyal
        status = (trio > 0).all(axis=1).astype(np.intp) + (trio >= SATISFIED_FROM).all(axis=1)
        table = np.bincount(cell * 3 + status, minlength=size * 3).reshape(n_projects, n_stages, 3)
        counts.loyalty_base[...] = table[..., 1:].sum(axis=-1)
        counts.loyal[...] = table[..., 2]

    # Joint (x, y) score counts per cell, then the moments as one small integer matrix product.
    wide = {}
    for i, (item, outcome) in enumerate(counts.pairs):
        if outcome not in wide:
            wide[outcome] = cell * (LEVELS * LEVELS) + scores[:, column[outcome]]
        x = scores[:, column[item]].astype(np.intp)
        joint = np.bincount(wide[outcome] + x * LEVELS, minlength=size * LEVELS * LEVELS)
        counts.moments[i] = (joint.reshape(size, LEVELS * LEVELS) @ _MOMENT_WEIGHTS).reshape(
            n_projects, n_stages, len(MOMENTS)
        )
    return counts


# --- stage 2: rows from counts -----------------------------------------------------------------------------


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


def _with_margins(table: np.ndarray) -> list:
    """A (…, project, stage) table with an all-projects row and an all-stages column appended, as Python ints.

    Index ``-1`` on either axis is then the margin, so every slice is one lookup (integer sums are exact).
    """
    table = np.concatenate([table, table.sum(axis=-2, keepdims=True)], axis=-2)
    return np.concatenate([table, table.sum(axis=-1, keepdims=True)], axis=-1).tolist()


def _slices(responses: list, projects: Sequence[str]) -> list[tuple[str | None, str | None, int, int]]:
    """(project code or None, stage or None, project index, stage index; -1 = all) for every slice whose
    project × stage cell holds at least one response; ``responses`` comes from ``_with_margins``."""
    slices: list[tuple[str | None, str | None, int, int]] = [(None, None, -1, -1)]
    slices += [(code, None, p, -1) for p, code in enumerate(projects) if responses[p][-1] > 0]
    slices += [(None, stage, -1, s) for s, stage in enumerate(STAGES) if responses[-1][s] > 0]
    slices += [
        (code, stage, p, s)
        for p, code in enumerate(projects)
        for s, stage in enumerate(STAGES)
        if responses[p][s] > 0
    ]
    return slices


def slices_fed_by(cells) -> set[tuple[str | None, str | None]]:
    """Every (project or None, stage or None) slice whose figures a change in these project × stage cells moves:
    the cell, its project, its stage and the whole survey."""
    fed: set[tuple[str | None, str | None]] = {(None, None)} if cells else set()
    for project, stage in cells:
        fed |= {(project, stage), (project, None), (None, stage)}
    return fed


def _satisfaction(n: int, k: int, total: int) -> dict:
    """The satisfaction fields of metric and item rows: n answers, k satisfied, ``total`` the summed scores."""
    return {
        "n": n,
        "satisfied": k,
        "satisfaction_rate": _rate(k, n),
        "satisfaction_ci": wilson_interval(k, n),
        "mean_score": total / n if n else None,
    }


# --- weighting to the owner population (post-stratification, DESIGN.md §2 "Weighting") ----------------------
# The population of a weighted survey is every owner of its projects, each in the stage as of the survey's period
# start: N_c owners per project × stage cell c (read by a selector and handed in; the engine stays pure). For a
# slice and an item, over the cells of the slice whose n_c respondents answered the item (n_c > 0): weighted rate =
# Σ N_c·p_c / Σ N_c; each respondent of cell c weighs w = N_c / n_c, so Σw = Σ N_c and Σw² = Σ N_c² / n_c, and the
# Kish effective n = (Σw)² / Σw²; the weighted interval is the Wilson formula at p = weighted rate, n = n_eff.
# Cells of the population without respondents drop out of both sums and are listed; respondents in a cell with
# N_c = 0 weigh nothing (their cells are listed too). Sums are exact (integers over a common denominator), so the
# figures depend on the counts alone (an incremental update gives the full recompute's bits) and on a single cell
# they are the plain rate, interval and n exactly.

Population = Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class WeightedFigure:
    rate: float | None
    ci: tuple[float, float] | None
    n_eff: float


def post_stratified(cells: Iterable[tuple[int, int, int]]) -> WeightedFigure:
    """The weighted rate, its Wilson interval at n_eff and the Kish n_eff over cells given as (N_c, n_c, k_c):
    population, respondents who answered, satisfied (or loyal) among them. Cells with n_c = 0 or N_c = 0 add
    nothing; when nothing weighs, rate and interval are None and n_eff is 0.

    Exact: over the common denominator L = lcm(n_c), Σ N_c·k_c/n_c = Σ N_c·k_c·(L/n_c) / L and Σ N_c²/n_c likewise,
    all integers; Python's integer true division rounds the exact quotient correctly, so the result depends on the
    counts alone, never on the cells' order, and a single cell gives k/n and n exactly."""
    kept = [(int(big_n), int(n), int(k)) for big_n, n, k in cells if n > 0 and big_n > 0]
    if not kept:
        return WeightedFigure(None, None, 0.0)
    common = math.lcm(*(n for _big_n, n, _k in kept))
    total = sum(big_n for big_n, _n, _k in kept)
    weighted_k = sum(big_n * k * (common // n) for big_n, n, k in kept)
    sum_w2 = sum(big_n * big_n * (common // n) for big_n, n, _k in kept)
    rate = weighted_k / (common * total)
    n_eff = (total * total * common) / sum_w2
    return WeightedFigure(rate, wilson_at(rate, n_eff), n_eff)


def _population_table(population: Population, projects: Sequence[str]) -> tuple[np.ndarray, dict]:
    """N_c as a (project, stage) int table on the counts' project axis, and the population cells of projects
    without any response (they only ever drop out and are listed): {project: [N per stage]}."""
    table = np.zeros((len(projects), len(STAGES)), dtype=np.int64)
    position = {code: i for i, code in enumerate(projects)}
    absent: dict[str, list[int]] = {}
    for (project, stage), big_n in population.items():
        if stage not in STAGES or big_n <= 0:
            continue
        if project in position:
            table[position[project], STAGES.index(stage)] += int(big_n)
        else:
            absent.setdefault(project, [0] * len(STAGES))[STAGES.index(stage)] += int(big_n)
    return table, dict(sorted(absent.items()))


def _slice_cells(p: int, s: int, n_projects: int) -> list[tuple[int, int]]:
    rows = range(n_projects) if p == -1 else (p,)
    columns = range(len(STAGES)) if s == -1 else (s,)
    return [(a, b) for a in rows for b in columns]


# --- the key drivers' quadrant rule (Martilla & James 1977) --------------------------------------------------
# The importance–performance chart's crosshairs are the medians of the items' importance and performance; an item
# with importance above the median and performance below it is where to concentrate. The engine stores that flag;
# the dashboards name all four quadrants with the same two functions.

CONCENTRATE = "concentrate"
QUADRANTS = (CONCENTRATE, "keep_up", "low_priority", "overkill")
UNKNOWN_QUADRANT = "unknown"


def quadrant_medians(points: Iterable[tuple[float | None, float | None]]) -> tuple[float | None, float | None]:
    """Medians of importance and of performance over the items that have both (None, None when none has)."""
    complete = [(i, p) for i, p in points if i is not None and p is not None and not math.isnan(i)]
    if not complete:
        return None, None
    return median(i for i, _ in complete), median(p for _, p in complete)


def quadrant_of(
    importance: float | None,
    performance: float | None,
    median_importance: float | None,
    median_performance: float | None,
) -> str:
    """The item's quadrant: importance above the median and performance below it = concentrate here; importance
    above and performance not below = keep up; importance not above: low priority below, overkill otherwise."""
    if None in (importance, performance, median_importance, median_performance):
        return UNKNOWN_QUADRANT
    high = importance > median_importance
    low = performance < median_performance
    if high:
        return CONCENTRATE if low else "keep_up"
    return "low_priority" if low else "overkill"


def _driver_rows(measured: list[tuple], port: str | None, project: str | None) -> list[DriverRow]:
    """``measured`` holds (item, pairs, importance, performance, n) per detail item; the flag is the quadrant rule."""
    medians = quadrant_medians((m[2], m[3]) for m in measured)
    return [
        DriverRow(port, project, code, pairs, importance, performance, n,
                  quadrant_of(importance, performance, *medians) == CONCENTRATE)
        for code, pairs, importance, performance, n in measured
    ]  # fmt: skip


def metrics_from_counts(
    counts: CellCounts,
    questions: Sequence[QuestionSpec],
    *,
    cells: Sequence[tuple[str, str]] | None = None,
    population: Population | None = None,
) -> SurveyMetrics:
    """Every metric, item and driver row from the counts alone (in report order).

    ``cells`` (project, stage) given: only the rows those cells feed (``slices_fed_by``; drivers of the whole
    survey and of the cells' projects) — what an incremental update rewrites after a change to those cells.
    ``population`` ({(project, stage): owners}) given: metric rows also carry the figures weighted to it (the
    satisfaction rate of every row, the loyalty rate of headline rows); a slice's weighted figures depend only on
    its own cells, so an incremental update stays exact.
    """
    result = SurveyMetrics()
    if counts.codes != tuple(q.code for q in questions) or counts.pairs != _driver_pairs(questions):
        raise ValueError("counts of a different questionnaire")
    if not counts.projects or counts.total_responses == 0:
        return result
    column = {code: j for j, code in enumerate(counts.codes)}
    answered, satisfied, score_sum = (_with_margins(t) for t in (counts.answered, counts.satisfied, counts.score_sum))
    loyalty_base, loyal = _with_margins(counts.loyalty_base), _with_margins(counts.loyal)
    slices = _slices(_with_margins(counts.responses), counts.projects)
    if cells is not None:
        fed = slices_fed_by(cells)
        slices = [sl for sl in slices if (sl[0], sl[1]) in fed]

    def satisfaction(j: int | None, p: int, s: int) -> dict:
        """Question ``j``'s satisfaction fields in one slice (None: the questionnaire lacks it, nothing answered)."""
        if j is None:
            return _satisfaction(0, 0, 0)
        return _satisfaction(answered[j][p][s], satisfied[j][p][s], score_sum[j][p][s])

    if population is not None:
        big_n, absent = _population_table(population, counts.projects)
        zeros = np.zeros_like(big_n)

    def weighted(j: int | None, p: int, s: int, *, loyalty: bool) -> dict:
        """The weighted fields of one metric row, with the population cells it lists."""
        if loyalty:
            n_table, k_table = counts.loyalty_base, counts.loyal
        elif j is None:
            n_table = k_table = zeros
        else:
            n_table, k_table = counts.answered[j], counts.satisfied[j]
        slice_cells = _slice_cells(p, s, len(counts.projects))
        figure = post_stratified((int(big_n[a, b]), int(n_table[a, b]), int(k_table[a, b])) for a, b in slice_cells)
        if loyalty:
            return {"weighted_loyalty_rate": figure.rate, "weighted_loyalty_ci": figure.ci,
                    "loyalty_n_eff": figure.n_eff}  # fmt: skip
        missing = [(counts.projects[a], STAGES[b]) for a, b in slice_cells if big_n[a, b] > 0 and n_table[a, b] == 0]
        if p == -1:
            stages = range(len(STAGES)) if s == -1 else (s,)
            missing += [(code, STAGES[b]) for code, per_stage in absent.items() for b in stages if per_stage[b] > 0]
            missing.sort(key=lambda cell: (cell[0], STAGES.index(cell[1])))
        outside = [(counts.projects[a], STAGES[b]) for a, b in slice_cells if big_n[a, b] == 0 and n_table[a, b] > 0]
        return {"weighted_rate": figure.rate, "weighted_ci": figure.ci, "n_eff": figure.n_eff,
                "weighted_missing_cells": tuple(missing), "weighted_outside_cells": tuple(outside)}  # fmt: skip

    for port, code in _outcomes(questions):
        j = column.get(code)
        for project, stage, p, s in slices:
            fields = satisfaction(j, p, s)
            if port is None:
                lb, ll = loyalty_base[p][s], loyal[p][s]
                fields.update(loyalty_base=lb, loyal=ll, loyalty_rate=_rate(ll, lb), loyalty_ci=wilson_interval(ll, lb))
            if population is not None:
                fields.update(weighted(j, p, s, loyalty=False))
                if port is None:
                    fields.update(weighted(j, p, s, loyalty=True))
            result.rows.append(MetricRow(port=port, project=project, stage=stage, **fields))

    for q in questions:
        j = column[q.code]
        for project, stage, p, s in slices:
            fields = satisfaction(j, p, s)
            result.items.append(ItemRow(question_code=q.code, port=q.port, project=project, stage=stage, **fields))

    pair_index = {pair: i for i, pair in enumerate(counts.pairs)}
    per_project = counts.moments.sum(axis=2)  # drivers are per project, over every stage
    moments = np.concatenate([per_project, per_project.sum(axis=1, keepdims=True)], axis=1).tolist()
    scopes: list[tuple[str | None, int]] = [(None, -1)] + [(code, p) for p, code in enumerate(counts.projects)]
    if cells is not None:
        touched = {project for project, _stage in cells}
        scopes = [(code, p) for code, p in scopes if code is None or code in touched]
    for port, outcome, items in _driver_sets(questions):
        for project, p in scopes:
            measured = []
            for code in items:
                n, k = answered[column[code]][p][-1], satisfied[column[code]][p][-1]
                m = moments[pair_index[(code, outcome)]][p]
                measured.append((code, m[0], pearson_from_sums(*m), _rate(k, n), n))
            result.drivers += _driver_rows(measured, port, project)
    return result


def compute_survey_metrics(
    frame: pd.DataFrame, questions: Sequence[QuestionSpec], *, population: Population | None = None
) -> SurveyMetrics:
    """Every slice of one survey: headline and each port × all/each project × all/each stage.

    ``frame`` has one row per response with columns ``project`` (code), ``stage`` (stage code) and one
    integer column per question code (1–5, 0 or NaN = not answered; a missing column = not asked).
    """
    return metrics_from_counts(survey_cell_counts(frame, questions), questions, population=population)
