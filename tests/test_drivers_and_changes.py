"""The key-driver quadrant and the trend's significance marks, checked against scipy and statsmodels."""

from datetime import date

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion

from dashboards.selectors import SliceFilter, slice_trends
from satisfaction.metrics.engine import quadrant_medians, quadrant_of
from satisfaction.models import DriverSnapshot, MetricSnapshot
from surveys.models import Question, Response
from surveys.services import survey_create
from tests.dashboard_fixtures import body_rows, surveys_for_module


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def surveys(built, db):
    return built


def raw_scores(survey, project_code=None) -> dict[str, np.ndarray]:
    """Scores by question code straight from the responses (0 = not answered), independent of the engine."""
    codes = list(Question.objects.filter(survey=survey).order_by("position").values_list("code", flat=True))
    responses = Response.objects.filter(survey=survey)
    if project_code:
        responses = responses.filter(project__code=project_code)
    matrix = np.array(
        [[0 if ch == "-" else int(ch) for ch in answers] for answers in responses.values_list("answers", flat=True)]
    )
    return {code: matrix[:, j] for j, code in enumerate(codes)}


def independent_quadrants(scores: dict[str, np.ndarray], port: str):
    """scipy's Pearson r over responses answering both, rate of 4–5 over answers, numpy medians.
    ``port`` "" = the drivers of headline satisfaction: every detail item against ``overall``."""
    outcome = scores[port or "overall"]
    measured = {}
    for code in [c for c in scores if (c.startswith(f"{port}_") if port else "_" in c)]:
        x = scores[code]
        both = (x > 0) & (outcome > 0)
        importance = stats.pearsonr(x[both], outcome[both]).statistic
        performance = (x >= 4).sum() / (x > 0).sum()
        measured[code] = (importance, performance)
    mi = float(np.median([i for i, _ in measured.values()]))
    mp = float(np.median([p for _, p in measured.values()]))
    concentrate = {code for code, (i, p) in measured.items() if i > mi and p < mp}
    return measured, mi, mp, concentrate


@pytest.mark.parametrize("port,project", [("property", None), ("engineering", None), ("service", "SUN")])
def test_the_driver_quadrant_matches_scipy_and_numpy(client, manager, surveys, port, project):
    _, survey = surveys
    measured, mi, mp, concentrate = independent_quadrants(raw_scores(survey, project), port)
    client.force_login(manager)
    query = f"survey={survey.code}" + (f"&project={project}" if project else "")
    html = client.get(f"/dashboards/ports/{port}/?{query}").content
    rows = body_rows(html, "driver-table")
    assert {row["attrs"]["data-item"] for row in rows} == set(measured)
    for row in rows:
        code = row["attrs"]["data-item"]
        assert float(row["cells"][1]["attrs"]["data-value"]) == pytest.approx(measured[code][0], abs=1e-12)
        assert float(row["cells"][2]["attrs"]["data-value"]) == pytest.approx(measured[code][1], abs=1e-12)
        assert (row["attrs"]["data-quadrant"] == "concentrate") == (code in concentrate)
        assert ("重点改进区" in row["texts"][4]) == (code in concentrate)
    snapshots = DriverSnapshot.objects.filter(survey=survey, port=port, project__code=project) if project else (
        DriverSnapshot.objects.filter(survey=survey, port=port, project__isnull=True)
    )
    assert {d.question_code for d in snapshots if d.concentrate_here} == concentrate

    chart = client.get(f"/dashboards/ports/{port}/data.json?{query}").json()["charts"]["drivers"]
    assert chart["median_x"] == pytest.approx(mi, abs=1e-12)
    assert chart["median_y"] == pytest.approx(mp * 100, abs=1e-9)
    assert {p["name"] for p in chart["points"] if p["concentrate"]} == {
        Question.objects.get(survey=survey, code=code).label for code in concentrate
    }


def test_the_overview_shows_the_drivers_of_headline_satisfaction_to_who_sees_every_port(
    client, manager, property_head, surveys
):
    _, survey = surveys
    measured, mi, mp, concentrate = independent_quadrants(raw_scores(survey), "")
    assert len(measured) == 16
    client.force_login(manager)
    rows = body_rows(client.get("/dashboards/").content, "driver-table")
    assert {row["attrs"]["data-item"] for row in rows} == set(measured)
    for row in rows:
        code = row["attrs"]["data-item"]
        assert float(row["cells"][1]["attrs"]["data-value"]) == pytest.approx(measured[code][0], abs=1e-12)
        assert (row["attrs"]["data-quadrant"] == "concentrate") == (code in concentrate)
    chart = client.get("/dashboards/data.json").json()["charts"]["drivers"]
    assert chart["median_x"] == pytest.approx(mi, abs=1e-12) and chart["median_y"] == pytest.approx(mp * 100)

    client.force_login(property_head)
    assert body_rows(client.get("/dashboards/").content, "driver-table") == []
    assert "drivers" not in client.get("/dashboards/data.json").json()["charts"]


def test_the_quadrant_rule_puts_only_high_importance_and_low_performance_in_concentrate_here():
    assert quadrant_of(0.6, 0.70, 0.5, 0.8) == "concentrate"
    assert quadrant_of(0.6, 0.90, 0.5, 0.8) == "keep_up"
    assert quadrant_of(0.4, 0.70, 0.5, 0.8) == "low_priority"
    assert quadrant_of(0.4, 0.90, 0.5, 0.8) == "overkill"
    # On a crosshair is not above / below it.
    assert quadrant_of(0.5, 0.70, 0.5, 0.8) == "low_priority"
    assert quadrant_of(0.6, 0.80, 0.5, 0.8) == "keep_up"
    assert quadrant_of(None, 0.80, 0.5, 0.8) == "unknown"


def test_the_crosshairs_are_numpy_medians_of_the_items_with_both_measures():
    rng = np.random.default_rng(5)
    for size in (1, 2, 3, 4, 7, 12):
        points = [(float(i), float(p)) for i, p in zip(rng.uniform(-1, 1, size), rng.uniform(0, 1, size))]
        with_gaps = [*points, (None, 0.5), (0.3, None)]
        mi, mp = quadrant_medians(with_gaps)
        assert mi == pytest.approx(np.median([i for i, _ in points]))
        assert mp == pytest.approx(np.median([p for _, p in points]))
    assert quadrant_medians([(None, None)]) == (None, None)


def test_trend_marks_match_statsmodels_unpooled_z_between_consecutive_surveys(client, manager, surveys):
    client.force_login(manager)
    html = client.get("/dashboards/").content
    rows = body_rows(html, "trend-table")
    checked = 0
    for port in ["", "design", "engineering", "sales", "service", "property"]:
        line = [row for row in rows if row["attrs"]["data-port"] == port]
        assert [row["attrs"]["data-survey"] for row in line] == ["2025-annual", "2026-annual"]
        before = MetricSnapshot.objects.get(survey__code="2025-annual", port=port, project=None, stage="")
        after = MetricSnapshot.objects.get(survey__code="2026-annual", port=port, project=None, stage="")
        expected = proportion.test_proportions_2indep(after.satisfied, after.n, before.satisfied, before.n, method="wald",
                                           compare="diff").statistic
        cell = line[1]["cells"][6]
        assert float(cell["attrs"]["data-z"]) == pytest.approx(expected, rel=1e-9)
        mark = "up" if expected > 1.96 else "down" if expected < -1.96 else ""
        assert line[1]["attrs"]["data-change"] == mark
        assert line[0]["attrs"]["data-change"] == "" and line[0]["cells"][6]["text"] == "—"
        checked += 1
        if port == "":
            loyalty = proportion.test_proportions_2indep(after.loyal, after.loyalty_base, before.loyal, before.loyalty_base,
                                              method="wald", compare="diff").statistic
            assert float(line[1]["cells"][8]["attrs"]["data-z"]) == pytest.approx(loyalty, rel=1e-9)
    assert checked == 6
    assert any(row["attrs"]["data-change"] == "up" for row in rows)  # property's clear improvement


def _snapshot(survey, satisfied, n):
    return MetricSnapshot.objects.create(
        survey=survey, port="", stage="", n=n, satisfied=satisfied, satisfaction_rate=satisfied / n,
        loyalty_base=n, loyal=satisfied, loyalty_rate=satisfied / n, computed_at="2026-01-01T00:00:00Z",
    )


def test_a_change_is_significant_only_beyond_1_96_and_a_survey_without_the_slice_is_skipped(db):
    # Counts chosen so that statsmodels' z lies just below, then just above the 1.96 threshold.
    waves = [(date(2022, 4, 1), 140, 200), (date(2023, 4, 1), 157, 200), (date(2024, 4, 1), None, None),
             (date(2025, 4, 1), 140, 200)]
    surveys = []
    for i, (starts_on, satisfied, n) in enumerate(waves):
        survey = survey_create(code=f"w{i}", name=f"第{i}次", starts_on=starts_on)
        surveys.append(survey)
        if n:
            _snapshot(survey, satisfied, n)
    z_small = proportion.test_proportions_2indep(157, 200, 140, 200, method="wald", compare="diff").statistic
    z_back = proportion.test_proportions_2indep(140, 200, 157, 200, method="wald", compare="diff").statistic
    assert 1.9 < z_small < 1.96 and -2.0 < z_back < -1.9

    points = slice_trends(surveys=surveys, ports=[""], chosen=SliceFilter())[""]
    assert [p.survey.code for p in points] == ["w0", "w1", "w3"]
    assert points[1].change.z == pytest.approx(z_small) and points[1].direction == ""
    assert points[2].change.z == pytest.approx(z_back) and points[2].direction == ""

    # One more owner satisfied tips it over the threshold.
    MetricSnapshot.objects.filter(survey=surveys[1]).update(satisfied=158, satisfaction_rate=158 / 200)
    points = slice_trends(surveys=surveys, ports=[""], chosen=SliceFilter())[""]
    z_big = proportion.test_proportions_2indep(158, 200, 140, 200, method="wald", compare="diff").statistic
    assert z_big > 1.96
    assert points[1].change.z == pytest.approx(z_big) and points[1].direction == "up"
    assert points[2].direction == "down"


def test_with_a_stage_chosen_the_drivers_say_they_cover_every_stage(client, manager, surveys):
    client.force_login(manager)
    page = client.get("/dashboards/ports/property/?stage=veteran").content.decode()
    assert 'id="drivers-all-stages"' in page
    assert 'id="drivers-all-stages"' not in client.get("/dashboards/ports/property/").content.decode()
