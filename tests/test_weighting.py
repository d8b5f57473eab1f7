"""Weighting to the owner population (DESIGN.md §2 "Weighting") against independent computations: the weighted
rate as statsmodels' weighted mean of per-respondent weights N_c / n_c, the Kish n_eff by hand, the interval as
statsmodels' Wilson interval at n_eff — on answers whose stage mix is far from the roster's, with a population cell
nobody answered in, a project nobody answered in and respondents in a cell with no owners in the population."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from satisfaction.metrics.engine import (
    compute_survey_metrics,
    post_stratified,
    survey_cell_counts,
    wilson_at,
    wilson_interval,
)
from tests.metrics_support import QUESTIONS, WEIGHTED_KEYS, random_frame

# The roster by project × stage: mostly veterans and prospective owners, while the answers (random_frame draws
# stages 10/20/30/40 %) lean the other way inside each project. Cells left out have no owners (N_c = 0).
POPULATION = {
    ("P0", "prospective"): 400, ("P0", "run_in"): 60, ("P0", "stable"): 40, ("P0", "veteran"): 900,
    ("P1", "prospective"): 250, ("P1", "run_in"): 30, ("P1", "veteran"): 500,  # P1 stable: N_c = 0
    ("P2", "prospective"): 120, ("P2", "run_in"): 80, ("P2", "stable"): 70, ("P2", "veteran"): 200,
    ("P9", "run_in"): 75, ("P9", "veteran"): 25,  # a project of the roster nobody answered in
}  # fmt: skip


def frame_with_an_empty_cell() -> pd.DataFrame:
    frame = random_frame(11, 900, projects=3)
    # Nobody of P2's stable owners answered: a population cell without respondents.
    return frame[~((frame["project"] == "P2") & (frame["stage"] == "stable"))].reset_index(drop=True)


def independent(
    frame: pd.DataFrame, item: str, *, project=None, stage=None, loyalty: bool = False, population=POPULATION
) -> dict:
    """Per-respondent weights w = N_c / n_c over the respondents who answered, then statsmodels and plain sums."""
    rows = frame
    if project is not None:
        rows = rows[rows["project"] == project]
    if stage is not None:
        rows = rows[rows["stage"] == stage]
    if loyalty:
        trio = rows[["overall", "repurchase", "recommend"]]
        rows = rows[trio.notna().all(axis=1)]
        success = (rows[["overall", "repurchase", "recommend"]] >= 4).all(axis=1).to_numpy(dtype=float)
    else:
        rows = rows[rows[item].notna()]
        success = (rows[item] >= 4).to_numpy(dtype=float)
    cells = list(zip(rows["project"], rows["stage"], strict=True))
    n_c = pd.Series(cells).value_counts().to_dict()
    weights = np.array([population.get(cell, 0) / n_c[cell] for cell in cells])
    kept = weights > 0
    stats = DescrStatsW(success[kept], weights=weights[kept])
    n_eff = weights.sum() ** 2 / (weights**2).sum()
    rate = stats.mean
    low, high = proportion_confint(rate * n_eff, n_eff, alpha=0.05, method="wilson")
    return {"rate": rate, "ci": (low, high), "n_eff": n_eff}


def row_of(rows, port, project=None, stage=None):
    return next(r for r in rows if (r.port, r.project, r.stage) == (port, project, stage))


@pytest.fixture(scope="module")
def weighted():
    frame = frame_with_an_empty_cell()
    return frame, compute_survey_metrics(frame, QUESTIONS, population=POPULATION).rows


def test_the_sample_stage_mix_differs_from_the_roster_and_weighting_moves_the_rate(weighted):
    frame, rows = weighted
    sample = frame["stage"].value_counts(normalize=True)
    roster = pd.Series(POPULATION).groupby(level=1).sum() / sum(POPULATION.values())
    assert sample["veteran"] < 0.45 and roster["veteran"] > 0.55  # the answers under-represent veterans
    headline = row_of(rows, None)
    assert abs(headline.weighted_rate - headline.satisfaction_rate) > 1e-4
    assert headline.n_eff < headline.n  # unequal weights cost effective sample


@pytest.mark.parametrize(
    ("port", "item", "project", "stage"),
    [
        (None, "overall", None, None),
        (None, "overall", "P0", None),
        (None, "overall", None, "veteran"),
        (None, "overall", "P1", None),  # holds the cell outside the population
        ("engineering", "engineering", None, None),
        ("property", "property", "P0", None),  # P0's veterans never answer the property item
        ("service", "service", None, "stable"),
    ],
)
def test_weighted_rate_n_eff_and_interval_equal_an_independent_computation(weighted, port, item, project, stage):
    frame, rows = weighted
    row = row_of(rows, port, project, stage)
    expected = independent(frame, item, project=project, stage=stage)
    assert row.weighted_rate == pytest.approx(expected["rate"], abs=1e-12)
    assert row.n_eff == pytest.approx(expected["n_eff"], rel=1e-12)
    assert row.weighted_ci == pytest.approx(expected["ci"], abs=1e-12)


def test_the_weighted_loyalty_rate_of_headline_rows_follows_the_same_rule(weighted):
    frame, rows = weighted
    for project, stage in [(None, None), ("P2", None), (None, "prospective")]:
        row = row_of(rows, None, project, stage)
        expected = independent(frame, "", project=project, stage=stage, loyalty=True)
        assert row.weighted_loyalty_rate == pytest.approx(expected["rate"], abs=1e-12)
        assert row.loyalty_n_eff == pytest.approx(expected["n_eff"], rel=1e-12)
        assert row.weighted_loyalty_ci == pytest.approx(expected["ci"], abs=1e-12)
    assert all(r.weighted_loyalty_rate is None and r.loyalty_n_eff is None for r in rows if r.port)


def test_a_hand_computed_two_cell_example():
    # Cell a: N = 300 owners, 10 answered, 6 satisfied; cell b: N = 100, 40 answered, 36 satisfied.
    figure = post_stratified([(300, 10, 6), (100, 40, 36), (50, 0, 0), (0, 7, 7)])
    assert figure.rate == pytest.approx((300 * 0.6 + 100 * 0.9) / 400, abs=1e-15)  # 0.675, not 42/50 = 0.84
    sum_w, sum_w2 = 300 + 100, 10 * 30.0**2 + 40 * 2.5**2  # w = 30 for a's ten, 2.5 for b's forty
    assert figure.n_eff == pytest.approx(sum_w**2 / sum_w2, rel=1e-15)  # 17.58…
    assert figure.ci == pytest.approx(proportion_confint(0.675 * figure.n_eff, figure.n_eff, method="wilson"), abs=1e-12)


def test_cells_without_respondents_are_listed_and_respondents_outside_the_population_weigh_nothing(weighted):
    frame, rows = weighted
    headline = row_of(rows, None)
    assert headline.weighted_missing_cells == (("P2", "stable"), ("P9", "run_in"), ("P9", "veteran"))
    assert ("P1", "stable") in set(zip(frame["project"], frame["stage"], strict=True))
    assert headline.weighted_outside_cells == (("P1", "stable"),)
    assert row_of(rows, None, "P2").weighted_missing_cells == (("P2", "stable"),)
    assert row_of(rows, None, None, "veteran").weighted_missing_cells == (("P9", "veteran"),)
    assert row_of(rows, None, "P0").weighted_missing_cells == ()
    # P0's veterans answered, but not the property item: for the property rows that cell has no respondents.
    assert row_of(rows, "property", "P0").weighted_missing_cells == (("P0", "veteran"),)
    # The cell outside the population: its own row has respondents but no weight at all.
    outside = row_of(rows, None, "P1", "stable")
    assert outside.n > 0 and (outside.weighted_rate, outside.weighted_ci, outside.n_eff) == (None, None, 0.0)
    # Adding or removing those respondents leaves every weighted figure of the survey as it was.
    without = frame[~((frame["project"] == "P1") & (frame["stage"] == "stable"))]
    again = row_of(compute_survey_metrics(without, QUESTIONS, population=POPULATION).rows, None)
    assert (again.weighted_rate, again.weighted_ci, again.n_eff) == (
        headline.weighted_rate, headline.weighted_ci, headline.n_eff,
    )  # fmt: skip


def test_on_a_single_project_stage_cell_the_weighted_figures_are_the_plain_ones_exactly(weighted):
    _frame, rows = weighted
    cells = [r for r in rows if r.project and r.stage and POPULATION.get((r.project, r.stage), 0) > 0 and r.n > 0]
    assert len(cells) > 40
    for row in cells:
        assert (row.weighted_rate, row.weighted_ci, row.n_eff) == (row.satisfaction_rate, row.satisfaction_ci, row.n)
        if row.port is None:
            assert (row.weighted_loyalty_rate, row.weighted_loyalty_ci, row.loyalty_n_eff) == (
                row.loyalty_rate, row.loyalty_ci, row.loyalty_base,
            )  # fmt: skip


def test_the_wilson_formula_at_a_rate_is_the_plain_interval_at_whole_numbers():
    for k, n in [(0, 5), (5, 5), (3, 10), (655, 812), (1, 1)]:
        assert wilson_at(k / n, n) == wilson_interval(k, n)
    assert wilson_at(0.5, 0) is None


def test_without_a_population_every_weighted_field_is_null(weighted):
    frame, _rows = weighted
    rows = compute_survey_metrics(frame, QUESTIONS).rows
    for row in rows:
        contract = row.as_contract("x")
        assert all(contract[key] is None for key in WEIGHTED_KEYS)


def test_weighted_figures_depend_on_the_cell_counts_alone(weighted):
    """Split the answers in two, count each half, add the counts: the same weighted rows bit for bit (the basis of
    the incremental and partitioned paths)."""
    from satisfaction.metrics.engine import metrics_from_counts

    frame, rows = weighted
    halves = [frame[frame["project"] == "P1"], frame[frame["project"] != "P1"]]
    counts = survey_cell_counts(halves[0], QUESTIONS) + survey_cell_counts(halves[1], QUESTIONS)
    assert metrics_from_counts(counts, QUESTIONS, population=POPULATION).rows == rows
    # Only the rows fed by one cell, as an incremental update derives them: equal to the full rows' same slices.
    some = metrics_from_counts(counts, QUESTIONS, cells=[("P0", "run_in")], population=POPULATION).rows
    full = {(r.port, r.project, r.stage): r for r in rows}
    assert some and all(full[(r.port, r.project, r.stage)] == r for r in some)


def test_population_stages_outside_the_known_ones_or_empty_cells_are_ignored():
    frame = pd.DataFrame({"project": ["A"] * 4, "stage": ["run_in"] * 4, "overall": [5, 4, 2, 1],
                          "repurchase": [5] * 4, "recommend": [5] * 4})  # fmt: skip
    population = {("A", "run_in"): 10, ("A", "stable"): 0, ("A", "retired"): 7}
    headline = row_of(compute_survey_metrics(frame, QUESTIONS, population=population).rows, None)
    assert (headline.weighted_rate, headline.n_eff, headline.weighted_missing_cells) == (0.5, 4.0, ())
