"""Snapshots: what ``metrics_compute`` stores equals what the engine computes, reruns change nothing, exports
follow the metric-row contract (DESIGN.md §4), and recompute requests coalesce into one run and one task."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.db import transaction
from openpyxl import load_workbook

from satisfaction.metrics.engine import compute_survey_metrics
from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricRun, MetricSnapshot
from satisfaction.selectors import survey_frame
from satisfaction.services import metrics_compute, metrics_request_recompute
from tests.metrics_support import (
    CONTRACT_KEYS,
    QUESTIONS,
    WEIGHTED_KEYS,
    random_frame,
    snapshot_values,
    survey_with_answers,
    without_changes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def frame():
    return random_frame(11, 400, projects=3, drivers=True)


@pytest.fixture
def survey(frame):
    return survey_with_answers("2026-annual", frame)


def export_json(code: str, capsys) -> list[dict]:
    call_command("export_metrics", survey=code, format="json")
    return json.loads(capsys.readouterr().out)


def test_the_database_frame_holds_the_answers_that_were_stored(survey, frame):
    stored = survey_frame(survey=survey)
    expected = frame.fillna(0)
    assert list(stored.columns) == ["project", "stage", *[q.code for q in QUESTIONS]]
    key = ["project", "stage", *[q.code for q in QUESTIONS]]
    left = stored.astype({q.code: int for q in QUESTIONS}).sort_values(key).reset_index(drop=True)
    right = expected.astype({q.code: int for q in QUESTIONS}).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(left.astype(object), right.astype(object))


def test_compute_writes_exactly_the_engines_rows(survey, frame):
    metrics_compute(survey_id=survey.pk)
    engine = compute_survey_metrics(frame, QUESTIONS)

    stored = {
        (s.port or None, s.project.code if s.project_id else None, s.stage or None): s
        for s in MetricSnapshot.objects.filter(survey=survey).select_related("project")
    }
    assert len(stored) == len(engine.rows)
    for row in engine.rows:
        s = stored[(row.port, row.project, row.stage)]
        ci = (s.satisfaction_ci_low, s.satisfaction_ci_high) if s.satisfaction_ci_low is not None else None
        assert (s.n, s.satisfied, s.satisfaction_rate, ci, s.mean_score) == (
            row.n, row.satisfied, row.satisfaction_rate, row.satisfaction_ci, row.mean_score,
        )  # fmt: skip
        loyalty_ci = (s.loyalty_ci_low, s.loyalty_ci_high) if s.loyalty_ci_low is not None else None
        assert (s.loyalty_base, s.loyal, s.loyalty_rate, loyalty_ci) == (
            row.loyalty_base, row.loyal, row.loyalty_rate, row.loyalty_ci,
        )  # fmt: skip

    items = {
        (s.question_code, s.project.code if s.project_id else None, s.stage or None): s
        for s in ItemSnapshot.objects.filter(survey=survey).select_related("project")
    }
    assert len(items) == len(engine.items)
    for row in engine.items:
        s = items[(row.question_code, row.project, row.stage)]
        assert (s.port, s.n, s.satisfied, s.satisfaction_rate, s.mean_score) == (
            row.port, row.n, row.satisfied, row.satisfaction_rate, row.mean_score,
        )  # fmt: skip

    drivers = {
        (s.port or None, s.project.code if s.project_id else None, s.question_code): s
        for s in DriverSnapshot.objects.filter(survey=survey).select_related("project")
    }
    assert len(drivers) == len(engine.drivers)
    for row in engine.drivers:
        s = drivers[(row.port, row.project, row.question_code)]
        assert (s.pairs, s.importance, s.performance, s.n, s.concentrate_here) == (
            row.pairs, row.importance, row.performance, row.n, row.concentrate_here,
        )  # fmt: skip


def test_a_rerun_writes_identical_rows(survey):
    metrics_compute(survey_id=survey.pk)
    first = snapshot_values(survey)
    metrics_compute(survey_id=survey.pk)
    second = snapshot_values(survey)
    assert first == second
    assert all(first.values())


def test_a_recompute_replaces_the_rows_of_a_project_that_lost_its_responses(survey):
    metrics_compute(survey_id=survey.pk)
    assert MetricSnapshot.objects.filter(survey=survey, project__code="P2").exists()
    survey.responses.filter(project__code="P2").delete()
    metrics_compute(survey_id=survey.pk)
    assert not MetricSnapshot.objects.filter(survey=survey, project__code="P2").exists()
    assert not DriverSnapshot.objects.filter(survey=survey, project__code="P2").exists()


def test_an_empty_survey_computes_no_rows_and_records_the_run(db):
    survey = survey_with_answers("empty", random_frame(1, 1).iloc[:0])
    assert metrics_compute(survey_id=survey.pk) == 0
    assert not MetricSnapshot.objects.filter(survey=survey).exists()
    assert MetricRun.objects.get(survey=survey).status == MetricRun.Status.DONE


def test_the_json_export_has_the_contract_shape_and_the_engines_unrounded_numbers(survey, frame, capsys):
    metrics_compute(survey_id=survey.pk)
    exported = export_json("2026-annual", capsys)
    expected = [row.as_contract("2026-annual") for row in compute_survey_metrics(frame, QUESTIONS).rows]
    assert all(list(row) == CONTRACT_KEYS for row in exported)
    # The series' first wave: no change anywhere.
    assert all(row["change"] is row["loyalty_change"] is None for row in exported)
    exported = [without_changes(row) for row in exported]
    key = lambda row: (row["port"] or "", row["project"] or "", row["stage"] or "")  # noqa: E731
    assert sorted(exported, key=key) == sorted(expected, key=key)
    for row in exported:
        if row["port"] is not None:
            assert row["loyalty_base"] is row["loyal"] is row["loyalty_rate"] is row["loyalty_ci"] is None
        if row["n"] == 0:
            assert row["satisfaction_rate"] is row["satisfaction_ci"] is row["mean_score"] is None
    assert any(row["n"] == 0 for row in exported), "the frame has a port nobody answered in one cell"
    # Unrounded: a rate is the exact quotient, not a rounded one.
    headline = next(r for r in exported if r["port"] is r["project"] is r["stage"] is None)
    assert headline["satisfaction_rate"] == headline["satisfied"] / headline["n"]


def design_example_frame() -> pd.DataFrame:
    """812 responses built to give the DESIGN.md §4 example row: 655 satisfied, mean 3344 / 812, 501 of 799 loyal."""
    overall = [5] * 253 + [4] * 402 + [3] * 157  # 655 satisfied; 253·5 + 402·4 + 157·3 = 3344
    repurchase = [5] * 501 + [3] * 154 + [4] * 157  # the first 501 are loyal
    recommend = [5] * 501 + [4] * 154 + [4] * 144 + [np.nan] * 13  # the last 13 leave the loyalty base
    frame = pd.DataFrame({"project": "SZ-JY01", "stage": "stable", "overall": overall, "repurchase": repurchase,
                          "recommend": recommend})  # fmt: skip
    return frame


def test_the_design_example_row_comes_out_exactly(db, capsys):
    survey = survey_with_answers("2026-annual", design_example_frame())
    metrics_compute(survey_id=survey.pk)
    headline = next(r for r in export_json(survey.code, capsys) if r["port"] is r["project"] is r["stage"] is None)
    documented = {
        "survey": "2026-annual", "port": None, "project": None, "stage": None,
        "n": 812, "satisfied": 655, "satisfaction_rate": 0.8066502463054187,
        "satisfaction_ci": [0.7780685201964695, 0.8323441949404436], "mean_score": 4.118226600985222,
        "loyalty_base": 799, "loyal": 501, "loyalty_rate": 0.6270337922403004,
        "loyalty_ci": [0.5929691037251241, 0.659882810895964], **dict.fromkeys(WEIGHTED_KEYS),
        "change": None, "loyalty_change": None,
    }  # fmt: skip
    assert list(headline) == list(documented)
    for key in ("satisfaction_ci", "loyalty_ci"):
        assert headline.pop(key) == pytest.approx(documented.pop(key), abs=1e-12)
    # The documented mean is one ulp above 3344 / 812; the export holds the correctly rounded quotient.
    assert headline.pop("mean_score") == 3344 / 812 == pytest.approx(documented.pop("mean_score"), rel=1e-15)
    assert headline == documented


def test_the_xlsx_export_holds_the_json_rows(survey, capsys, tmp_path):
    metrics_compute(survey_id=survey.pk)
    rows = export_json(survey.code, capsys)
    path = tmp_path / "metrics.xlsx"
    call_command("export_metrics", survey=survey.code, format="xlsx", output=str(path))
    sheet = load_workbook(path, read_only=True)["metrics"]
    header, *body = list(sheet.iter_rows(values_only=True))
    assert len(body) == len(rows)
    for cells, row in zip(body, rows, strict=True):
        got = dict(zip(header, cells, strict=True))
        for name in ("satisfaction", "loyalty", "weighted", "weighted_loyalty"):
            ci = row.pop(f"{name}_ci")
            row[f"{name}_ci_low"], row[f"{name}_ci_high"] = ci if ci else (None, None)
        for name in ("change", "loyalty_change"):
            change = row.pop(name) or {}
            for part in ("from_survey", "z", "p_value", "significant"):
                row[f"{name}_{part}"] = change.get(part)
        assert set(got) == set(row)
        for key, value in row.items():
            if isinstance(value, float):
                assert isinstance(got[key], int | float) and math.isclose(got[key], value, rel_tol=0, abs_tol=1e-15), key
            else:
                assert got[key] == value, key


def test_several_requests_in_one_transaction_make_one_run_and_one_task(survey, monkeypatch, django_capture_on_commit_callbacks):
    from satisfaction.tasks import recompute_survey

    sent = []
    monkeypatch.setattr(recompute_survey, "apply_async", lambda *args, **kwargs: sent.append((args, kwargs)))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        runs = [metrics_request_recompute(survey_id=survey.pk) for _ in range(5)]
    assert len({run.pk for run in runs}) == 1
    assert MetricRun.objects.filter(survey=survey).count() == 1
    assert len(callbacks) == 1
    assert len(sent) == 1
    args, kwargs = sent[0]
    assert kwargs["args"] == [survey.pk]


def test_the_compute_finishes_the_pending_run_and_a_later_request_opens_a_new_one(survey, monkeypatch, django_capture_on_commit_callbacks):
    from satisfaction.tasks import recompute_survey

    monkeypatch.setattr(recompute_survey, "apply_async", lambda *args, **kwargs: None)
    with django_capture_on_commit_callbacks(execute=True):
        first = metrics_request_recompute(survey_id=survey.pk)
    metrics_compute(survey_id=survey.pk)
    first.refresh_from_db()
    assert first.status == MetricRun.Status.DONE and first.responses == 400
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = metrics_request_recompute(survey_id=survey.pk)
    assert second.pk != first.pk and second.status == MetricRun.Status.PENDING
    assert len(callbacks) == 1


def test_a_broker_that_is_down_leaves_the_run_pending(survey, monkeypatch, django_capture_on_commit_callbacks):
    from satisfaction.tasks import recompute_survey

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(recompute_survey, "apply_async", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        run = metrics_request_recompute(survey_id=survey.pk)
    run.refresh_from_db()
    assert run.status == MetricRun.Status.PENDING


@pytest.fixture
def sent_tasks(monkeypatch):
    from satisfaction.tasks import recompute_survey

    sent = []
    monkeypatch.setattr(recompute_survey, "apply_async", lambda *args, **kwargs: sent.append(kwargs["args"]))
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_request_joining_a_run_that_is_still_waiting_at_commit_sends_nothing_more(sent_tasks):
    survey = survey_with_answers("2026-annual", random_frame(5, 30, projects=1))
    first = metrics_request_recompute(survey_id=survey.pk)  # autocommit: sent at once
    with transaction.atomic():
        assert metrics_request_recompute(survey_id=survey.pk).pk == first.pk
    assert sent_tasks == [[survey.pk]]
    assert MetricRun.objects.filter(survey=survey).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_joining_a_run_that_a_worker_claims_before_the_commit_asks_again(sent_tasks):
    survey = survey_with_answers("2026-annual", random_frame(5, 30, projects=1))
    first = metrics_request_recompute(survey_id=survey.pk)
    with transaction.atomic():
        assert metrics_request_recompute(survey_id=survey.pk).pk == first.pk
        # Meanwhile the worker claims the run and reads the responses without this transaction's change.
        MetricRun.objects.filter(pk=first.pk).update(status=MetricRun.Status.RUNNING)
    assert sent_tasks == [[survey.pk], [survey.pk]]
    assert MetricRun.objects.filter(survey=survey, status=MetricRun.Status.PENDING).exclude(pk=first.pk).count() == 1
