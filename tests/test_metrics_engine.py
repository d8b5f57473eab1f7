"""The metrics engine against independent computations: statsmodels, scipy and plain pandas groupbys."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import pearsonr
from statsmodels.stats import proportion
from statsmodels.stats.proportion import proportion_confint

from departments.ports import PORTS
from satisfaction.metrics.engine import (
    Z95,
    QuestionSpec,
    compute_survey_metrics,
    target_status,
    two_proportion_change,
    wilson_interval,
)
from tests.metrics_support import ENGINE_KEYS, QUESTIONS, random_frame

HEADLINE = ("overall", "repurchase", "recommend")


# --- Wilson intervals -------------------------------------------------------------------------------------


def test_the_z_value_is_the_two_sided_95_percent_normal_quantile():
    from scipy.stats import norm

    assert Z95 == pytest.approx(norm.ppf(0.975), abs=1e-15)


@pytest.mark.parametrize(
    ("k", "n"),
    [(0, 1), (1, 1), (0, 7), (7, 7), (1, 2), (3, 10), (29, 30), (0, 1000), (1000, 1000), (655, 812), (501, 799),
     (1, 1_000_000), (812_345, 1_000_000)],
)  # fmt: skip
def test_the_wilson_interval_matches_statsmodels(k, n):
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((low, high), abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(min_value=1, max_value=100_000), share=st.floats(min_value=0, max_value=1))
def test_the_wilson_interval_matches_statsmodels_for_any_count(n, share):
    k = round(share * n)
    interval = wilson_interval(k, n)
    assert interval == pytest.approx(proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12)
    assert 0.0 <= interval[0] <= k / n <= interval[1] <= 1.0


def test_the_design_example_row_has_the_documented_intervals():
    assert wilson_interval(655, 812) == pytest.approx((0.7780685201964695, 0.8323441949404436), abs=1e-12)
    assert wilson_interval(501, 799) == pytest.approx((0.5929691037251241, 0.659882810895964), abs=1e-12)


def test_there_is_no_interval_without_answers():
    assert wilson_interval(0, 0) is None


# --- change between surveys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(655, 812, 700, 830), (655, 812, 705, 830), (40, 50, 30, 50), (1, 3, 2, 3), (500, 1000, 500, 1000)],
)
def test_the_change_is_the_unpooled_z_test_of_statsmodels(x1, n1, x2, n2):
    reference = proportion.test_proportions_2indep(x2, n2, x1, n1, method="wald", compare="diff")
    change = two_proportion_change(x1, n1, x2, n2)
    assert change.z == pytest.approx(float(reference.statistic), abs=1e-12)
    assert change.p_value == pytest.approx(float(reference.pvalue), abs=1e-12)
    assert change.significant == (abs(float(reference.statistic)) > 1.96)


def test_a_change_just_under_1_96_is_not_significant_and_just_over_is():
    below = two_proportion_change(655, 812, 700, 830)  # z ≈ 1.9595
    above = two_proportion_change(655, 812, 705, 830)
    assert 1.95 < below.z < 1.96 and not below.significant
    assert above.z > 1.96 and above.significant


def test_no_change_is_tested_when_a_survey_has_no_answers():
    change = two_proportion_change(0, 0, 5, 10)
    assert change.z is None and change.p_value is None and not change.significant


def test_a_change_between_two_certain_rates_is_significant_when_they_differ():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = proportion.test_proportions_2indep(10, 10, 0, 10, method="wald")
    change = two_proportion_change(0, 10, 10, 10)
    assert change.z == math.inf == float(reference.statistic)
    assert change.significant
    assert not two_proportion_change(10, 10, 10, 10).significant


# --- targets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ci", "target", "status"),
    [
        ((0.80, 0.90), 0.75, "met"),
        ((0.80, 0.90), 0.95, "missed"),
        ((0.80, 0.90), 0.85, "undetermined"),
        ((0.80, 0.90), 0.80, "undetermined"),  # on the bound: not wholly above
        ((0.80, 0.90), 0.90, "undetermined"),
        (None, 0.80, "undetermined"),
        ((0.80, 0.90), None, "undetermined"),
    ],
)
def test_a_target_counts_only_when_the_whole_interval_is_on_one_side(ci, target, status):
    assert target_status(ci, target) == status


# --- rates and loyalty on a frame small enough to count by hand ---------------------------------------------


def frame_of(rows, codes=("overall", "repurchase", "recommend", "property")):
    records = [dict(zip(("project", "stage", *codes), row, strict=True)) for row in rows]
    return pd.DataFrame(records)


SMALL = [QuestionSpec("overall", "headline"), QuestionSpec("repurchase", "headline"),
         QuestionSpec("recommend", "headline"), QuestionSpec("property", "port", "property")]  # fmt: skip


def test_unanswered_items_leave_the_rate_and_the_loyalty_base():
    frame = frame_of(
        [
            ("A", "stable", 5, 5, 4, 3),  # loyal
            ("A", "stable", 4, 3, 5, np.nan),  # in the base, not loyal; property not answered
            ("A", "stable", 2, 5, 5, 4),  # in the base, not loyal
            ("A", "stable", 5, np.nan, 5, 5),  # answered overall, not all three: outside the base
            ("A", "stable", np.nan, 5, 5, 1),  # overall not answered: outside n and the base
        ]
    )
    rows = {(r.port, r.project, r.stage): r for r in compute_survey_metrics(frame, SMALL).rows}
    headline = rows[(None, None, None)]
    assert (headline.n, headline.satisfied) == (4, 3)
    assert headline.satisfaction_rate == 3 / 4
    assert headline.mean_score == (5 + 4 + 2 + 5) / 4
    assert (headline.loyalty_base, headline.loyal, headline.loyalty_rate) == (3, 1, 1 / 3)
    assert headline.loyalty_ci == pytest.approx(proportion_confint(1, 3, method="wilson"), abs=1e-12)
    port = rows[("property", None, None)]
    assert (port.n, port.satisfied, port.mean_score) == (4, 2, (3 + 4 + 5 + 1) / 4)
    assert port.loyalty_base is port.loyal is port.loyalty_rate is port.loyalty_ci is None


def test_a_cell_whose_port_has_no_answers_has_a_row_with_no_rate_and_no_interval():
    frame = frame_of([("A", "run_in", 5, 5, 5, np.nan), ("A", "run_in", 4, 4, 4, np.nan), ("B", "veteran", 4, 4, 4, 5)])
    rows = {(r.port, r.project, r.stage): r for r in compute_survey_metrics(frame, SMALL).rows}
    empty = rows[("property", "A", "run_in")]
    assert (empty.n, empty.satisfied) == (0, 0)
    assert empty.satisfaction_rate is empty.satisfaction_ci is empty.mean_score is None
    assert ("property", "A", "veteran") not in rows  # no response in that cell: no row at all
    assert rows[("property", None, None)].n == 1


def test_a_question_missing_from_the_frame_counts_as_never_answered():
    frame = frame_of([("A", "stable", 5, 5, 5, 4)]).drop(columns=["property"])
    rows = {(r.port, r.project, r.stage): r for r in compute_survey_metrics(frame, SMALL).rows}
    assert rows[("property", None, None)].n == 0


def test_an_empty_survey_has_no_rows():
    metrics = compute_survey_metrics(frame_of([]), SMALL)
    assert metrics.rows == metrics.items == metrics.drivers == []


def test_an_unknown_stage_or_a_score_out_of_range_is_refused():
    with pytest.raises(ValueError, match="stage"):
        compute_survey_metrics(frame_of([("A", "newcomer", 5, 5, 5, 5)]), SMALL)
    with pytest.raises(ValueError, match="1–5"):
        compute_survey_metrics(frame_of([("A", "stable", 6, 5, 5, 5)]), SMALL)


def test_the_contract_row_has_the_documented_keys_and_nulls():
    frame = frame_of([("A", "stable", 5, 5, 4, np.nan)])
    rows = compute_survey_metrics(frame, SMALL).rows
    for row in rows:
        contract = row.as_contract("2026-annual")
        assert list(contract) == ENGINE_KEYS
        if row.port is not None:
            assert contract["loyalty_base"] is contract["loyal"] is contract["loyalty_rate"] is None
            assert contract["loyalty_ci"] is None
    empty_port = next(r for r in rows if r.port == "property" and r.project is None and r.stage is None)
    assert empty_port.as_contract("x")["satisfaction_ci"] is None


# --- every slice against a pandas recomputation -----------------------------------------------------------


def pandas_slices(frame: pd.DataFrame) -> dict[tuple, dict]:
    """n, satisfied and mean of every question in every slice, from a long frame and four plain groupbys.

    Keys are (question code, project or None, stage or None); loyalty counts are under the code "_loyalty".
    """
    data = frame.reset_index(drop=True)
    trio = data[list(HEADLINE)]
    long = data.melt(id_vars=["project", "stage"], value_vars=[q.code for q in QUESTIONS], var_name="code")
    long["answered"] = long["value"].notna()
    long["satisfied"] = long["value"] >= 4
    data["code"] = "_loyalty"
    data["answered"] = trio.notna().all(axis=1)
    data["satisfied"] = data["answered"] & (trio >= 4).all(axis=1)
    data["value"] = np.nan
    long = pd.concat([long, data[long.columns]], ignore_index=True)
    long["_all"] = "all"
    expected = {}
    for keys in (["_all"], ["project"], ["stage"], ["project", "stage"]):
        table = long.groupby(["code", *keys], observed=True).agg(
            n=("answered", "sum"), satisfied=("satisfied", "sum"), mean=("value", "mean")
        )
        for key, n, satisfied, mean in table.itertuples(name=None):
            project = key[1 + keys.index("project")] if "project" in keys else None
            stage = key[1 + keys.index("stage")] if "stage" in keys else None
            expected[(key[0], project, stage)] = {"n": int(n), "satisfied": int(satisfied), "mean": mean if n else None}
    return expected


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), size=st.integers(min_value=1, max_value=400))
def test_every_slice_matches_a_pandas_groupby(seed, size):
    frame = random_frame(seed, size)
    metrics = compute_survey_metrics(frame, QUESTIONS)
    expected = pandas_slices(frame)
    got = {(r.port, r.project, r.stage): r for r in metrics.rows}
    assert len(got) == len(metrics.rows), "one row per slice"
    slices = {(project, stage) for code, project, stage in expected}
    assert set(got) == {(port, *cell) for port in (None, *PORTS) for cell in slices}, (
        "rows exist exactly for the slices holding at least one response"
    )
    for (port, project, stage), row in got.items():
        want = expected[(port or "overall", project, stage)]
        assert (row.n, row.satisfied) == (want["n"], want["satisfied"]), (port, project, stage)
        if row.n:
            assert row.satisfaction_rate == pytest.approx(row.satisfied / row.n, abs=1e-15)
            assert row.mean_score == pytest.approx(want["mean"], abs=1e-12)
            assert row.satisfaction_ci == pytest.approx(
                proportion_confint(row.satisfied, row.n, method="wilson"), abs=1e-12
            )
        else:
            assert row.satisfaction_rate is row.satisfaction_ci is row.mean_score is None
        if port is None:
            loyalty = expected[("_loyalty", project, stage)]
            assert (row.loyalty_base, row.loyal) == (loyalty["n"], loyalty["satisfied"]), (project, stage)
            if row.loyalty_base:
                assert row.loyalty_rate == pytest.approx(row.loyal / row.loyalty_base, abs=1e-15)
                assert row.loyalty_ci == pytest.approx(
                    proportion_confint(row.loyal, row.loyalty_base, method="wilson"), abs=1e-12
                )
            else:
                assert row.loyalty_rate is row.loyalty_ci is None
        else:
            assert row.loyalty_base is row.loyal is row.loyalty_rate is row.loyalty_ci is None


def test_a_port_that_nobody_in_a_cell_answered_gives_n_0_in_the_slice_check():
    frame = random_frame(7, 600)
    rows = {(r.port, r.project, r.stage): r for r in compute_survey_metrics(frame, QUESTIONS).rows}
    assert rows[("property", "P0", "veteran")].n == 0
    assert rows[("property", "P0", "veteran")].satisfaction_ci is None
    assert rows[(None, "P0", "veteran")].n > 0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), size=st.integers(min_value=1, max_value=300))
def test_every_item_slice_matches_a_pandas_groupby(seed, size):
    frame = random_frame(seed, size, projects=3)
    items = {(r.question_code, r.project, r.stage): r for r in compute_survey_metrics(frame, QUESTIONS).items}
    expected = {key: value for key, value in pandas_slices(frame).items() if key[0] != "_loyalty"}
    assert set(items) == set(expected)
    ports = {q.code: q.port for q in QUESTIONS}
    for key, want in expected.items():
        row = items[key]
        assert row.port == ports[key[0]]
        assert (row.n, row.satisfied) == (want["n"], want["satisfied"]), key
        if row.n:
            assert row.mean_score == pytest.approx(want["mean"], abs=1e-12)
            assert row.satisfaction_ci == pytest.approx(proportion_confint(row.satisfied, row.n, method="wilson"), abs=1e-12)
        else:
            assert row.mean_score is row.satisfaction_rate is row.satisfaction_ci is None


# --- key drivers ------------------------------------------------------------------------------------------


def expected_drivers(frame: pd.DataFrame, outcome: str, items: list[str]) -> dict[str, dict]:
    rows = {}
    y = frame[outcome].to_numpy(dtype=float)
    for code in items:
        x = frame[code].to_numpy(dtype=float)
        both = ~np.isnan(x) & ~np.isnan(y)
        answered = x[~np.isnan(x)]
        if both.sum() >= 2 and np.ptp(x[both]) > 0 and np.ptp(y[both]) > 0:
            importance = pearsonr(x[both], y[both]).statistic
        else:
            importance = None  # scipy has no r for a constant column
        performance = (answered >= 4).mean() if len(answered) else None
        rows[code] = {"pairs": int(both.sum()), "n": len(answered), "importance": importance, "performance": performance}
    complete = [r for r in rows.values() if r["importance"] is not None and r["performance"] is not None]
    if complete:
        mi = np.median([r["importance"] for r in complete])
        mp = np.median([r["performance"] for r in complete])
    for r in rows.values():
        r["concentrate_here"] = bool(
            complete and r in complete and r["importance"] > mi and r["performance"] < mp
        )
        # Small random samples tie often: two items whose r is equal in exact arithmetic may differ in the last bit
        # between scipy and the engine's integer moments, so which of them sits on the median is a coin toss.
        r["on_median"] = bool(
            r in complete and (abs(r["importance"] - mi) < 1e-9 or abs(r["performance"] - mp) < 1e-12)
        )
    return rows


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), size=st.integers(min_value=3, max_value=300))
def test_drivers_match_scipy_pearson_over_pairs_that_answered_both(seed, size):
    frame = random_frame(seed, size, projects=3, drivers=True)
    drivers = compute_survey_metrics(frame, QUESTIONS).drivers
    by_key = {(d.port, d.project, d.question_code): d for d in drivers}
    assert len(by_key) == len(drivers)
    details = [q for q in QUESTIONS if q.kind == "detail"]
    sets = [(None, "overall", [q.code for q in details])]
    sets += [(port, port, [q.code for q in details if q.port == port]) for port in PORTS]
    projects = [None, *sorted(frame["project"].unique())]
    expected_count = 0
    for port, outcome, items in sets:
        for project in projects:
            part = frame if project is None else frame[frame["project"] == project]
            for code, want in expected_drivers(part, outcome, items).items():
                expected_count += 1
                got = by_key[(port, project, code)]
                assert (got.pairs, got.n) == (want["pairs"], want["n"])
                if want["importance"] is None:
                    assert got.importance is None
                else:
                    assert got.importance == pytest.approx(want["importance"], abs=1e-12)
                assert got.performance == pytest.approx(want["performance"], abs=1e-15)
                if not want["on_median"]:
                    assert got.concentrate_here == want["concentrate_here"], (port, project, code)
    assert expected_count == len(drivers)


def test_concentrate_here_is_high_importance_with_low_performance():
    rng = np.random.default_rng(3)
    size = 2000
    strong_weak = rng.choice([1, 2, 3, 4, 5], size, p=[0.2, 0.2, 0.2, 0.2, 0.2])
    strong_good = rng.choice([3, 4, 5], size, p=[0.1, 0.3, 0.6])
    weak_weak = rng.choice([1, 2, 3, 4, 5], size)
    overall = np.clip(np.round((strong_weak + strong_good) / 2 + rng.normal(0, 0.5, size)), 1, 5)
    frame = pd.DataFrame(
        {"project": "A", "stage": "stable", "overall": overall, "a": strong_weak, "b": strong_good, "c": weak_weak,
         "d": strong_good}  # fmt: skip
    )
    questions = [QuestionSpec("overall", "headline"), *(QuestionSpec(c, "detail", "design") for c in "abcd")]
    rows = {d.question_code: d for d in compute_survey_metrics(frame, questions).drivers if d.port is None and d.project is None}
    assert rows["a"].concentrate_here
    assert not rows["b"].concentrate_here and not rows["c"].concentrate_here


def test_an_item_everyone_scored_the_same_has_no_importance():
    frame = pd.DataFrame(
        {"project": "A", "stage": "stable", "overall": [5, 4, 3, 4], "a": [5, 5, 5, 5], "b": [5, 4, 2, 4]}
    )
    questions = [QuestionSpec("overall", "headline"), QuestionSpec("a", "detail", "design"),
                 QuestionSpec("b", "detail", "design")]  # fmt: skip
    rows = {d.question_code: d for d in compute_survey_metrics(frame, questions).drivers if d.project is None}
    assert rows["a"].importance is None and rows["a"].performance == 1.0 and not rows["a"].concentrate_here
    assert rows["b"].importance == pytest.approx(pearsonr([5, 4, 2, 4], [5, 4, 3, 4]).statistic, abs=1e-12)
