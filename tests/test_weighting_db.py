"""Weighted figures end to end: the population read from the owner roster as of the period start, the snapshots,
the export and API fields, the incremental path equal to a full recompute with weighting on, and the wave's
weighting switched on or off from the wave service."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from owners.models import Owner, Project
from satisfaction import services
from satisfaction.models import CellDelta, MetricSnapshot
from satisfaction.selectors import survey_frame, survey_population
from satisfaction.services import metrics_compute
from surveys.models import Response, Survey
from surveys.services import response_submit, responses_delete, survey_create, survey_update
from tests.dashboard_fixtures import body_rows
from tests.metrics_support import QUESTIONS, WEIGHTED_KEYS, snapshot_values
from tests.test_weighting import independent

pytestmark = pytest.mark.django_db

STARTS = date(2026, 4, 1)
# Move-in dates putting an owner in each stage as of STARTS (prospective: not moved in).
MOVE_IN = {"prospective": None, "run_in": date(2025, 12, 1), "stable": date(2024, 12, 1), "veteran": date(2020, 1, 1)}
# Owners on the roster per cell, and how many of them answer: the sample over-represents run-in owners.
ROSTER = {
    ("A", "prospective"): (40, 4), ("A", "run_in"): (10, 8), ("A", "veteran"): (60, 6),
    ("B", "run_in"): (12, 10), ("B", "stable"): (20, 0), ("B", "veteran"): (30, 3),
}  # fmt: skip


def scores(i: int) -> dict:
    """A varied, deterministic questionnaire: every answer given; overall alternates among 2–5."""
    base = {q.code: 3 + (i % 3) for q in QUESTIONS}
    base["overall"] = [5, 4, 2, 5, 3][i % 5]
    return base


def build(weighting: str = "population") -> Survey:
    survey = survey_create(code="w-2026", name="加权测试", series="company", starts_on=STARTS,
                           ends_on=date(2026, 6, 30), weighting=weighting)  # fmt: skip
    serial = 0
    for (project_code, stage), (owners, answering) in ROSTER.items():
        project, _ = Project.objects.get_or_create(code=project_code, defaults={"name": f"楼盘{project_code}"})
        for i in range(owners):
            owner = Owner.objects.create(project=project, unit=f"{stage}-{i}", name=f"业主{serial}",
                                         move_in_date=MOVE_IN[stage])  # fmt: skip
            if i < answering:
                response_submit(survey=survey, owner=owner, questionnaire_no=f"Q{serial}", surveyed_on=STARTS,
                                scores=scores(serial))  # fmt: skip
            serial += 1
    # Run-in on the roster as of 1 April, stable when answering on 1 June: a respondent in A/stable, a cell with
    # no owners on the roster (N_c = 0), who weighs nothing.
    late = Owner.objects.create(project=Project.objects.get(code="A"), unit="late-1", name="晚入住",
                                move_in_date=date(2025, 5, 1))  # fmt: skip
    response_submit(survey=survey, owner=late, questionnaire_no="LATE", surveyed_on=date(2026, 6, 1),
                    scores=scores(serial))  # fmt: skip
    metrics_compute(survey_id=survey.pk)
    return survey


def export_json(code: str, capsys) -> list[dict]:
    call_command("export_metrics", survey=code, format="json")
    return json.loads(capsys.readouterr().out)


def test_the_population_is_the_roster_of_the_surveys_projects_by_stage_as_of_the_period_start():
    survey = build()
    expected = {cell: owners for cell, (owners, _answering) in ROSTER.items()}
    expected[("A", "run_in")] += 1  # the late owner: run-in on 1 April, though stable when answering
    assert survey_population(survey=survey) == expected
    # Only its target projects when it names some.
    survey.target_projects.set([Project.objects.get(code="B")])
    assert set(survey_population(survey=survey)) == {cell for cell in expected if cell[0] == "B"}
    assert survey_population(survey=Survey.objects.create(code="x", name="x", series=survey.series,
                                                          questionnaire=survey.questionnaire)) is None  # fmt: skip


def test_exported_weighted_figures_equal_an_independent_computation(capsys):
    survey = build()
    frame = survey_frame(survey=survey)
    frame = frame.astype({"project": str, "stage": str}).replace(0, float("nan"))
    population = survey_population(survey=survey)
    rows = export_json(survey.code, capsys)
    headline = next(r for r in rows if r["port"] is r["project"] is r["stage"] is None)
    expected = independent(frame, "overall", population=population)
    assert headline["weighted_rate"] == pytest.approx(expected["rate"], abs=1e-12)
    assert headline["n_eff"] == pytest.approx(expected["n_eff"], rel=1e-12)
    assert headline["weighted_ci"] == pytest.approx(list(expected["ci"]), abs=1e-12)
    assert abs(headline["weighted_rate"] - headline["satisfaction_rate"]) > 0.01
    assert headline["weighted_missing_cells"] == [["B", "stable"]]
    assert headline["weighted_outside_cells"] == [["A", "stable"]]
    loyalty = independent(frame, "", population=population, loyalty=True)
    assert headline["weighted_loyalty_rate"] == pytest.approx(loyalty["rate"], abs=1e-12)
    cell = next(r for r in rows if (r["port"], r["project"], r["stage"]) == (None, "A", "veteran"))
    assert (cell["weighted_rate"], cell["weighted_ci"], cell["n_eff"]) == (
        cell["satisfaction_rate"], cell["satisfaction_ci"], cell["n"],
    )  # fmt: skip


def test_the_api_rows_carry_the_weighted_fields_and_nulls_when_weighting_is_off(manager):
    survey = build()
    client = APIClient()
    client.force_login(manager)
    rows = client.get(f"/api/v1/metrics/?survey={survey.code}").json()
    assert all(set(WEIGHTED_KEYS) <= set(row) for row in rows)
    # Only the stable slices hold nobody who weighs (A/stable is outside the roster, B/stable's owners never answered).
    assert all((row["weighted_rate"] is None) == (row["stage"] == "stable") for row in rows)
    assert all(row["weighted_loyalty_rate"] is None for row in rows if row["port"])
    survey_update(survey=survey, code=survey.code, name=survey.name, source=survey.source, series=survey.series,
                  questionnaire=survey.questionnaire, starts_on=survey.starts_on, ends_on=survey.ends_on,
                  target_projects=[], target_stages=[], weighting="none")  # fmt: skip
    metrics_compute(survey_id=survey.pk)
    rows = client.get(f"/api/v1/metrics/?survey={survey.code}").json()
    assert rows and all(row[key] is None for row in rows for key in WEIGHTED_KEYS)


def test_switching_weighting_on_in_the_wave_recomputes_the_numbers(django_capture_on_commit_callbacks):
    survey = build(weighting="none")
    assert not MetricSnapshot.objects.filter(survey=survey, weighted_rate__isnull=False).exists()
    with django_capture_on_commit_callbacks(execute=True):
        survey_update(survey=survey, code=survey.code, name=survey.name, source=survey.source, series=survey.series,
                      questionnaire=survey.questionnaire, starts_on=survey.starts_on, ends_on=survey.ends_on,
                      target_projects=[], target_stages=[], weighting="population")  # fmt: skip
    headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    assert headline.weighted_rate is not None and headline.n_eff > 0


def change_answers(survey):
    """Responses change, the roster does not: a new answer from an owner on the roster, edits, a deletion."""
    silent = Owner.objects.filter(project__code="B", unit__startswith="stable-").first()  # B/stable had nobody
    response_submit(survey=survey, owner=silent, questionnaire_no="NEW-1", surveyed_on=STARTS, scores=scores(1))
    for response in Response.objects.filter(survey=survey).order_by("id")[:3]:
        response_submit(survey=survey, owner=response.owner, questionnaire_no=response.questionnaire_no,
                        surveyed_on=response.surveyed_on, scores=scores(response.pk + 2))  # fmt: skip
    responses_delete(responses=[Response.objects.filter(survey=survey, project__code="A").order_by("-id").first()])


def test_incremental_updates_equal_a_full_recompute_with_weighting_on(django_capture_on_commit_callbacks, monkeypatch):
    survey = build()
    full_runs = []
    monkeypatch.setattr(services, "_full", lambda survey_id, _full=services._full: full_runs.append(1) or _full(survey_id))
    before = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="").weighted_missing_cells
    with transaction.atomic():
        with django_capture_on_commit_callbacks(execute=True):
            change_answers(survey)
        assert not CellDelta.objects.filter(survey=survey).exists() and not full_runs, "went the incremental way"
        incremental = snapshot_values(survey)
        headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
        assert before == [["B", "stable"]] and headline.weighted_missing_cells == []
        metrics_compute(survey_id=survey.pk)
        assert snapshot_values(survey) == incremental
        transaction.set_rollback(True)


def test_updates_weigh_by_the_roster_of_the_last_full_recompute_until_the_next_one(
    django_capture_on_commit_callbacks, monkeypatch
):
    from satisfaction.metrics.engine import compute_survey_metrics
    from satisfaction.selectors import survey_question_specs

    survey = build()
    read = survey_population(survey=survey)
    full_runs = []
    monkeypatch.setattr(services, "_full", lambda survey_id, _full=services._full: full_runs.append(1) or _full(survey_id))
    # 50 more veterans on A's roster, then answers change: the update stays incremental and weighs by the roster
    # the last full recompute read, so every slice still uses one and the same population.
    Owner.objects.bulk_create(Owner(project=Project.objects.get(code="A"), unit=f"new-{i}", name=f"新{i}",
                                    move_in_date=MOVE_IN["veteran"]) for i in range(50))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        change_answers(survey)
    assert not full_runs
    frame = survey_frame(survey=survey)
    specs = survey_question_specs(survey=survey)
    stored = {(r.port or "", r.project or "", r.stage or ""): r for r in compute_survey_metrics(frame, specs,
                                                                                              population=read).rows}
    for snapshot in MetricSnapshot.objects.filter(survey=survey).select_related("project"):
        row = stored[(snapshot.port, snapshot.project.code if snapshot.project else "", snapshot.stage)]
        assert (snapshot.weighted_rate, snapshot.n_eff) == (row.weighted_rate, row.n_eff)
    before = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    # The next full recompute reads the new roster.
    metrics_compute(survey_id=survey.pk)
    after = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    assert survey_population(survey=survey)[("A", "veteran")] == read[("A", "veteran")] + 50
    assert after.weighted_rate != before.weighted_rate and after.n_eff != before.n_eff



def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def cell(row: dict, css: str) -> dict:
    return next(c for c in row["cells"] if css in c["attrs"].get("class", "").split())


def test_the_dashboards_show_the_weighted_figures_beside_the_plain_ones(client, manager):
    survey = build()
    client.force_login(manager)
    headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    html = page(client, f"/dashboards/?survey={survey.code}")
    rows = body_rows(html, "weighted-table")
    assert [row["texts"][0] for row in rows][:2] == ["总体满意度", "忠诚度"]
    first = rows[0]
    assert float(cell(first, "weighted")["attrs"]["data-value"]) == headline.weighted_rate
    assert float(cell(first, "n-eff")["attrs"]["data-value"]) == headline.n_eff
    assert cell(first, "weighted")["text"].startswith(f"{headline.weighted_rate * 100:.1f}%")
    # Greyed as too few by the effective n, not by n: 37 answers here weigh like fewer than 30.
    assert headline.n >= 30 > headline.n_eff and "样本不足" in cell(first, "weighted")["text"]
    assert cell(first, "weighted-ci")["text"].startswith(f"{headline.weighted_ci_low * 100:.1f}%")
    assert first["texts"][1].startswith(f"{headline.satisfaction_rate * 100:.1f}%")  # the plain rate beside it
    missing = html[html.index('id="weighted-missing"'):]
    assert "楼盘B · 稳定期业主" in missing.split("</p>")[0]  # the population cell nobody answered in
    assert "楼盘A · 稳定期业主" in missing.split("</p>")[1]  # respondents who weigh nothing
    # The headline card shows the weighted figure too, labelled 加权.
    card = html[html.index('class="small mb-1 weighted-figure"'):].split("</p>")[0]
    assert "加权" in card and f"{headline.weighted_rate * 100:.1f}%" in card and f"{headline.n_eff:.1f}" in card
    projects = {row["attrs"]["data-project"]: row for row in body_rows(html, "weighted-project-table")}
    a = MetricSnapshot.objects.get(survey=survey, port="", project__code="A", stage="")
    assert float(cell(projects["A"], "weighted")["attrs"]["data-value"]) == a.weighted_rate

    port = MetricSnapshot.objects.get(survey=survey, port="engineering", project=None, stage="")
    row = body_rows(page(client, f"/dashboards/ports/engineering/?survey={survey.code}"), "weighted-table")[0]
    assert row["texts"][0] == "工程质量满意度"
    assert float(cell(row, "weighted")["attrs"]["data-value"]) == port.weighted_rate

    row = body_rows(page(client, f"/dashboards/projects/A/?survey={survey.code}"), "weighted-table")[0]
    assert float(cell(row, "weighted")["attrs"]["data-value"]) == a.weighted_rate

    from tests.test_scorecard import section, workbook_rows

    _sheet, sheet_rows = workbook_rows(client.get(f"/dashboards/projects/A/scorecard.xlsx?survey={survey.code}").content)
    header, body = section(sheet_rows, "加权到业主总体")
    assert header[:7] == ["指标", "未加权", "样本量", "加权", "加权区间下限", "加权区间上限", "有效样本量"]
    assert body[0][0] == "总体满意度" and body[0][3:7] == pytest.approx(
        [a.weighted_rate, a.weighted_ci_low, a.weighted_ci_high, a.n_eff], rel=1e-14)

    listed = {r["attrs"]["data-project"]: r for r in body_rows(page(client, f"/dashboards/projects/?survey={survey.code}"),
                                                               "project-list-table")}  # fmt: skip
    assert float(cell(listed["A"], "weighted")["attrs"]["data-value"]) == a.weighted_rate
    assert float(cell(listed["A"], "n-eff")["attrs"]["data-value"]) == a.n_eff


def test_an_unweighted_survey_shows_no_weighted_panel(client, manager):
    survey = build(weighting="none")
    client.force_login(manager)
    for url in ("/dashboards/", "/dashboards/ports/engineering/", "/dashboards/projects/A/"):
        assert 'id="weighted-table"' not in page(client, f"{url}?survey={survey.code}")
    assert "加权满意度" not in page(client, f"/dashboards/projects/?survey={survey.code}")


def test_the_wave_form_switches_weighting_on_and_the_numbers_follow(client, staff, django_capture_on_commit_callbacks):
    from surveys.models import Questionnaire

    survey = build(weighting="none")
    client.force_login(staff)
    html = client.get(f"/surveys/waves/{survey.code}/edit/").content.decode()
    assert 'name="weighting"' in html and "默认不加权" in html
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(f"/surveys/waves/{survey.code}/edit/", {
            "code": survey.code, "name": survey.name, "series": survey.series_id, "source": "",
            "starts_on": "2026-04-01", "ends_on": "2026-06-30",
            "questionnaire": Questionnaire.objects.get(code="standard").pk, "weighting": "population",
        })  # fmt: skip
    assert answer.status_code == 302
    headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
    assert headline.weighted_rate is not None and headline.weighted_missing_cells == [["B", "stable"]]


def test_a_partitioned_recompute_gives_the_single_tasks_weighted_snapshots():
    from satisfaction.services import metrics_combine_partials, metrics_partial_compute, metrics_partition_plan

    call_command("seed_scale", survey="scale-weighted", responses=1500, projects=5, seed=5)
    survey = Survey.objects.get(code="scale-weighted")
    Survey.objects.filter(pk=survey.pk).update(weighting="population")
    survey.refresh_from_db()
    metrics_compute(survey_id=survey.pk)
    single = snapshot_values(survey)
    assert MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="").n_eff > 0
    MetricSnapshot.objects.filter(survey=survey).delete()
    plan = metrics_partition_plan(survey_id=survey.pk, rows_per_partition=500)
    partials = [metrics_partial_compute(survey_id=survey.pk, project_ids=group) for group in plan]
    metrics_combine_partials(survey_id=survey.pk, partials=partials, run_ids=[])
    assert len(plan) == 3 and snapshot_values(survey) == single


def test_the_xlsx_export_holds_the_weighted_columns(capsys, tmp_path):
    from openpyxl import load_workbook

    survey = build()
    rows = export_json(survey.code, capsys)
    path = tmp_path / "metrics.xlsx"
    call_command("export_metrics", survey=survey.code, format="xlsx", output=str(path))
    header, *body = list(load_workbook(path, read_only=True)["metrics"].iter_rows(values_only=True))
    sheet = [dict(zip(header, cells, strict=True)) for cells in body]
    headline = next(r for r in sheet if r["port"] is r["project"] is r["stage"] is None)
    expected = rows[0]
    # The sheet holds the numbers unrounded (a spreadsheet keeps 15 significant digits).
    assert [headline["weighted_rate"], headline["n_eff"], headline["weighted_loyalty_rate"]] == pytest.approx(
        [expected["weighted_rate"], expected["n_eff"], expected["weighted_loyalty_rate"]], rel=1e-14)
    assert [headline["weighted_ci_low"], headline["weighted_ci_high"]] == pytest.approx(expected["weighted_ci"], rel=1e-14)
    assert (headline["weighted_missing_cells"], headline["weighted_outside_cells"]) == ("B/stable", "A/stable")


owner_pick = st.integers(0, 10**6)
answer_op = st.one_of(
    st.tuples(st.just("answer"), owner_pick, st.integers(0, 50)),  # a roster owner answers (or answers again)
    st.tuples(st.just("delete"), owner_pick),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(operations=st.lists(answer_op, min_size=1, max_size=5))
def test_any_answers_on_a_fixed_roster_update_incrementally_to_the_full_recomputes_weighted_rows(
    weighted_world, operations, django_capture_on_commit_callbacks, monkeypatch
):
    survey = weighted_world
    full_runs = []
    monkeypatch.setattr(services, "_full", lambda survey_id, _full=services._full: full_runs.append(1) or _full(survey_id))
    owners = list(Owner.objects.order_by("id"))
    with transaction.atomic():
        for serial, op in enumerate(operations):
            with django_capture_on_commit_callbacks(execute=True):
                if op[0] == "answer":
                    owner = owners[op[1] % len(owners)]
                    existing = Response.objects.filter(survey=survey, owner=owner).first()
                    number = existing.questionnaire_no if existing else f"H-{serial}"
                    response_submit(survey=survey, owner=owner, questionnaire_no=number, surveyed_on=STARTS,
                                    scores=scores(op[2]))  # fmt: skip
                else:
                    responses = list(Response.objects.filter(survey=survey).order_by("id"))
                    if len(responses) > 1:
                        responses_delete(responses=[responses[op[1] % len(responses)]])
        assert not full_runs, "the roster did not change: every update went the incremental way"
        incremental = snapshot_values(survey)
        metrics_compute(survey_id=survey.pk)
        assert snapshot_values(survey) == incremental
        transaction.set_rollback(True)


@pytest.fixture
def weighted_world(db):
    return build()


def test_weighting_switched_behind_the_services_back_makes_the_next_update_a_full_one(
    django_capture_on_commit_callbacks, monkeypatch
):
    survey = build(weighting="none")
    Survey.objects.filter(pk=survey.pk).update(weighting="population")  # plain SQL: no recompute asked for
    full_runs = []
    monkeypatch.setattr(services, "_full", lambda survey_id, _full=services._full: full_runs.append(1) or _full(survey_id))
    with django_capture_on_commit_callbacks(execute=True):
        change_answers(survey)
    assert full_runs
    assert MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="").n_eff > 0
