"""Like with like: every change figure compares a slice with the same slice in the latest earlier wave of the same
series (by period start) in which that slice has answers, checked against statsmodels' unpooled two-proportion
z-test for every slice; waves of other series never serve as "previous"."""

from datetime import date

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats import proportion

from dashboards.selectors import SliceFilter, dashboard_surveys, slice_trends
from owners.models import Project
from satisfaction.selectors import metric_rows
from satisfaction.services import metrics_compute
from surveys.models import Response
from tests.metrics_support import random_frame, survey_with_answers

HEADLINE = ("overall", "repurchase", "recommend")
PORTS = ("design", "engineering", "sales", "service", "property")

# (code, series, period start, seed, size, rows kept); created in this order, so creation order ≠ period order.
WAVES = [
    ("c2026", "company", date(2026, 4, 1), 3, 500, None),
    ("c2024", "company", date(2024, 4, 1), 1, 400, None),
    # P3 was not surveyed in 2025: its 2026 slices read against 2024.
    ("c2025", "company", date(2025, 4, 1), 2, 450, lambda f: f[f["project"] != "P3"]),
    # Other series in between, with very different figures: never a company wave's "previous".
    ("g2025", "group", date(2025, 9, 1), 4, 300, None),
    ("cb2026", "callback", date(2026, 1, 15), 5, 120, None),
    ("g2026", "group", date(2026, 5, 1), 6, 300, None),
]


def _frame(seed, size, keep):
    frame = random_frame(seed, size)
    if keep is not None:
        frame = keep(frame).reset_index(drop=True)
    if seed in (4, 5):  # the other series: far less satisfied
        for code in [*HEADLINE, *PORTS]:
            frame[code] = np.where(frame[code].isna(), np.nan, np.minimum(frame[code], 3.0))
    return frame


@pytest.fixture(scope="module")
def waves(django_db_setup, django_db_blocker):
    """The six waves, built once for the module and removed after it (each test runs in its own rollback)."""
    with django_db_blocker.unblock():
        frames, surveys = {}, {}
        for code, series, starts_on, seed, size, keep in WAVES:
            frames[code] = _frame(seed, size, keep)
            surveys[code] = survey_with_answers(code, frames[code], surveyed_on=starts_on, series=series)
            metrics_compute(survey_id=surveys[code].pk)
    try:
        yield surveys, frames
    finally:
        with django_db_blocker.unblock():
            from owners.models import Owner
            from surveys.models import Survey

            codes = [code for code, *_ in WAVES]
            Response.objects.filter(survey__code__in=codes).delete()
            Survey.objects.filter(code__in=codes).delete()
            projects = Project.objects.filter(code__in=[f"P{i}" for i in range(4)])
            Owner.objects.filter(project__in=projects).delete()
            projects.delete()
            Response.history.all().delete()
            Owner.history.all().delete()


def _counts(frame: pd.DataFrame, port, project, stage, *, loyalty: bool) -> tuple[int, int]:
    subset = frame
    if project is not None:
        subset = subset[subset["project"] == project]
    if stage is not None:
        subset = subset[subset["stage"] == stage]
    if loyalty:
        answered = subset[list(HEADLINE)].dropna()
        return int((answered >= 4).all(axis=1).sum()), len(answered)
    scores = subset[port or "overall"].dropna()
    return int((scores >= 4).sum()), len(scores)


def _expected(frames, earlier_codes, this, port, project, stage, *, loyalty):
    """The independent answer: the latest earlier wave of the series with answers in the slice, and statsmodels."""
    satisfied, n = _counts(frames[this], port, project, stage, loyalty=loyalty)
    for code in earlier_codes:
        before_satisfied, before_n = _counts(frames[code], port, project, stage, loyalty=loyalty)
        if before_n:
            break
    else:
        return None
    if not n:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        test = proportion.test_proportions_2indep(satisfied, n, before_satisfied, before_n, method="wald", compare="diff")
    if np.isnan(test.statistic):  # no variance and equal rates: undefined
        return code, None, None
    return code, float(test.statistic), float(test.pvalue)


@pytest.mark.django_db
@pytest.mark.parametrize(("this", "earlier"), [("c2026", ["c2025", "c2024"]), ("g2026", ["g2025"]), ("c2024", [])])
def test_every_slice_changes_against_the_previous_wave_of_its_own_series(waves, this, earlier, django_assert_max_num_queries):
    surveys, frames = waves
    with django_assert_max_num_queries(4):
        rows = metric_rows(survey=surveys[this])
    assert len(rows) > 100
    checked = 0
    for row in rows:
        for name, loyalty in (("change", False), ("loyalty_change", True)):
            if loyalty and row["port"] is not None:
                assert row[name] is None
                continue
            expected = _expected(frames, earlier, this, row["port"], row["project"], row["stage"], loyalty=loyalty)
            if expected is None:
                assert row[name] is None, row
                continue
            code, z, p_value = expected
            change = row[name]
            assert change["from_survey"] == code, row
            if z is None:
                assert change["z"] is change["p_value"] is None and not change["significant"]
                continue
            if np.isinf(z):  # 0 % against 100 %: certain, and JSON has no infinity
                assert change["z"] is None and change["p_value"] == 0.0 and change["significant"]
                continue
            assert change["z"] == pytest.approx(z, rel=1e-9) and change["p_value"] == pytest.approx(p_value, rel=1e-9)
            assert change["significant"] == (abs(z) > 1.96)
            checked += 1
    assert checked > 100 or not earlier
    if this == "c2026":
        p3 = [r for r in rows if r["project"] == "P3" and r["change"]]
        assert p3 and all(r["change"]["from_survey"] == "c2024" for r in p3)


@pytest.mark.django_db
def test_the_trend_draws_one_line_per_series_and_never_compares_across_series(waves):
    surveys, frames = waves
    points = slice_trends(surveys=dashboard_surveys(), ports=["", "property"], chosen=SliceFilter())
    headline = points[""]
    assert [p.survey.code for p in headline] == ["c2024", "c2025", "g2025", "cb2026", "c2026", "g2026"]
    froms = {p.survey.code: (p.change_from.code if p.change_from else None) for p in headline}
    assert froms == {"c2024": None, "c2025": "c2024", "g2025": None, "cb2026": None, "c2026": "c2025", "g2026": "g2025"}
    whole = {(r["port"], r["project"], r["stage"]): r for r in metric_rows(survey=surveys["c2026"])}
    c2026 = next(p for p in headline if p.survey.code == "c2026")
    assert c2026.change.z == pytest.approx(whole[(None, None, None)]["change"]["z"], rel=1e-12)
    assert c2026.loyalty_change.z == pytest.approx(whole[(None, None, None)]["loyalty_change"]["z"], rel=1e-12)

    project = Project.objects.get(code="P3")
    p3 = slice_trends(surveys=dashboard_surveys(), ports=[""], chosen=SliceFilter(project=project))[""]
    assert {p.survey.code: p.change_from.code if p.change_from else None for p in p3 if p.survey.series.code == "company"} == {
        "c2024": None, "c2026": "c2024"}


@pytest.mark.django_db
def test_a_recompute_of_an_older_wave_moves_the_later_waves_change(waves):
    surveys, _frames = waves
    before = next(r for r in metric_rows(survey=surveys["c2026"]) if r["port"] is r["project"] is r["stage"] is None)
    older = Response.objects.filter(survey=surveys["c2025"])
    older.update(answers="1" + "-" * 23)
    metrics_compute(survey_id=surveys["c2025"].pk)
    after = next(r for r in metric_rows(survey=surveys["c2026"]) if r["port"] is r["project"] is r["stage"] is None)
    assert after["change"]["z"] > before["change"]["z"] and after["change"]["significant"]
    assert after["change"]["from_survey"] == "c2025"
