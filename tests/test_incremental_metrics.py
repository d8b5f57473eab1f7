"""Fresh numbers from one change: each change's additive counts, folded into the stored per-cell counts, give
exactly the full recompute's snapshots — bit for bit, after any mix of creates, edits (a new project or stage
included) and deletes."""

from datetime import date

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from owners.models import Owner, Project
from satisfaction import services
from satisfaction.models import CellCount, CellDelta, MetricRun, SurveyCountState
from satisfaction.services import metrics_compute
from surveys.models import Response
from surveys.services import response_submit, responses_delete
from tests.metrics_support import random_frame, snapshot_values, survey_with_answers

SURVEYED_ON = date(2026, 5, 1)
# Move-in dates that put an owner in each lifecycle stage as of SURVEYED_ON (and None: prospective).
MOVE_IN = [None, date(2025, 12, 1), date(2024, 12, 1), date(2020, 1, 1)]


@pytest.fixture
def world(db):
    survey = survey_with_answers("2026-annual", random_frame(3, 60, projects=3, drivers=True))
    Project.objects.create(code="P9", name="楼盘P9")  # no response yet: a change may open its first cell
    metrics_compute(survey_id=survey.pk)
    questions = list(survey.questions.order_by("position"))
    return survey, questions


score = st.one_of(st.none(), st.integers(1, 5))
operation = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 3), st.integers(0, 3), st.lists(score, min_size=24, max_size=24)),
    st.tuples(st.just("edit"), st.integers(0, 10**6), st.integers(0, 3), st.integers(0, 3),
              st.lists(score, min_size=24, max_size=24)),
    st.tuples(st.just("delete"), st.integers(0, 10**6)),
)


def scores_of(questions, values):
    scores = {q.code: value for q, value in zip(questions, values, strict=True)}
    for q in questions:
        if q.required and scores[q.code] is None:
            scores[q.code] = 3
    return scores


def apply(survey, questions, op, serial: int) -> None:
    projects = list(Project.objects.order_by("code"))
    responses = list(Response.objects.filter(survey=survey).order_by("id"))
    if op[0] == "create":
        _kind, project, stage, values = op
        owner = Owner.objects.create(project=projects[project], unit=f"N-{serial}", name=f"新业主{serial}",
                                     move_in_date=MOVE_IN[stage])
        response_submit(survey=survey, owner=owner, questionnaire_no=f"NEW-{serial}", surveyed_on=SURVEYED_ON,
                        scores=scores_of(questions, values))
    elif op[0] == "edit" and responses:
        _kind, which, project, stage, values = op
        response = responses[which % len(responses)]
        owner = response.owner
        # The owner moved to another project and their move-in date was corrected: project and stage change too.
        Owner.objects.filter(pk=owner.pk).update(project=projects[project], move_in_date=MOVE_IN[stage])
        owner.refresh_from_db()
        response_submit(survey=survey, owner=owner, questionnaire_no=response.questionnaire_no,
                        surveyed_on=SURVEYED_ON, scores=scores_of(questions, values))
    elif op[0] == "delete" and responses:
        responses_delete(responses=[responses[op[1] % len(responses)]])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=6))
def test_incremental_updates_equal_a_full_recompute_bit_for_bit(world, operations, django_capture_on_commit_callbacks,
                                                              monkeypatch):
    survey, questions = world
    full_runs = []
    monkeypatch.setattr(services, "_full", lambda survey_id, _full=services._full: full_runs.append(1) or _full(survey_id))
    with transaction.atomic():
        for serial, op in enumerate(operations):
            # Each change in its own transaction; committing it runs its update (eager Celery in the tests).
            with django_capture_on_commit_callbacks(execute=True):
                apply(survey, questions, op, serial)
        assert not CellDelta.objects.filter(survey=survey).exists(), "every delta was folded in"
        assert not full_runs, "the changes went the incremental way"
        incremental = snapshot_values(survey)
        cells = sorted(CellCount.objects.filter(survey=survey).values_list("project_id", "stage", "counts"))

        metrics_compute(survey_id=survey.pk)

        assert snapshot_values(survey) == incremental
        assert sorted(CellCount.objects.filter(survey=survey).values_list("project_id", "stage", "counts")) == cells
        transaction.set_rollback(True)


def test_a_change_stores_its_cells_deltas_in_its_own_transaction_and_its_run_folds_them(
    world, django_capture_on_commit_callbacks
):
    survey, questions = world
    owner = Owner.objects.create(project=Project.objects.get(code="P9"), unit="1-1", name="甲", move_in_date=MOVE_IN[1])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response_submit(survey=survey, owner=owner, questionnaire_no="D-1", surveyed_on=SURVEYED_ON,
                        scores=scores_of(questions, [5] * 24))
        delta = CellDelta.objects.get(survey=survey)
        assert (delta.project.code, delta.stage) == ("P9", "run_in")
        assert delta.counts[:3] == [1, 1, 1]  # one response, in the loyalty base, loyal
        run = MetricRun.objects.get(survey=survey, status=MetricRun.Status.PENDING)
        assert run.kind == MetricRun.Kind.INCREMENTAL
    for callback in callbacks:
        callback()
    run.refresh_from_db()
    assert run.status == MetricRun.Status.DONE
    assert not CellDelta.objects.exists()
    assert CellCount.objects.get(survey=survey, project__code="P9", stage="run_in").counts[0] == 1


def test_without_kept_counts_or_after_a_bulk_change_a_full_recompute_is_asked_for(world, django_capture_on_commit_callbacks):
    survey, questions = world
    SurveyCountState.objects.filter(survey=survey).delete()
    owner = Owner.objects.create(project=Project.objects.get(code="P9"), unit="1-2", name="乙")
    with django_capture_on_commit_callbacks(execute=False):
        response_submit(survey=survey, owner=owner, questionnaire_no="D-2", surveyed_on=SURVEYED_ON,
                        scores=scores_of(questions, [4] * 24))
        assert not CellDelta.objects.exists()
        assert MetricRun.objects.get(survey=survey, status=MetricRun.Status.PENDING).kind == MetricRun.Kind.FULL
