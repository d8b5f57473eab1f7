"""The partitioned recompute (several workers share a large survey) gives exactly the single-task numbers."""

import json

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from owners.stages import STAGES
from satisfaction.metrics.engine import (
    CellCounts,
    QuestionSpec,
    combine_counts,
    compute_survey_metrics,
    metrics_from_counts,
    survey_cell_counts,
)
from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricRun, MetricSnapshot
from satisfaction.services import (
    metrics_combine_partials,
    metrics_compute,
    metrics_compute_partitioned,
    metrics_partial_compute,
    metrics_partition_plan,
)
from surveys.models import Response, Survey
from surveys.questionnaires import STANDARD

QUESTIONS = [QuestionSpec(q.code, q.kind, q.port) for q in STANDARD]


def random_frame(seed: int, n: int, projects: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"project": rng.choice([f"P{i:02d}" for i in range(projects)], n), "stage": rng.choice(STAGES, n)}
    )
    level = rng.integers(1, 6, n)
    for q in QUESTIONS:
        scores = np.clip(level + rng.integers(-1, 2, n), 1, 5)
        scores[rng.random(n) < 0.1] = 0
        frame[q.code] = scores
    return frame


def partial_counts(frame: pd.DataFrame, questions) -> dict:
    """What a partition task hands the chord: the counts as JSON (through a real JSON round trip)."""
    return json.loads(json.dumps(survey_cell_counts(frame, questions).as_dict()))


def combine_partials(partials: list[dict], questions) -> object:
    return metrics_from_counts(combine_counts([CellCounts.from_dict(part) for part in partials], questions), questions)


def test_the_counts_of_two_disjoint_halves_of_a_frame_add_up_to_the_counts_of_the_whole():
    frame = random_frame(6, 2000, 5)
    # Halves split by response, not by project: every project and most cells are in both halves.
    first = np.random.default_rng(6).random(len(frame)) < 0.5
    whole = survey_cell_counts(frame, QUESTIONS)

    halves = survey_cell_counts(frame[first], QUESTIONS) + survey_cell_counts(frame[~first], QUESTIONS)

    assert halves == whole
    assert halves.total_responses == len(frame)
    assert whole.answered.sum() == (frame[[q.code for q in QUESTIONS]] > 0).to_numpy().sum()
    assert halves != survey_cell_counts(frame[first], QUESTIONS)


def test_the_counts_of_projects_that_only_one_half_has_are_placed_on_the_sorted_project_axis():
    frame = random_frame(7, 600, 4)
    low, high = frame[frame.project.isin(["P00", "P02"])], frame[frame.project.isin(["P01", "P03"])]

    whole = survey_cell_counts(frame, QUESTIONS)
    assert survey_cell_counts(high, QUESTIONS) + survey_cell_counts(low, QUESTIONS) == whole
    empty = survey_cell_counts(frame.iloc[:0], QUESTIONS)
    assert empty + whole == whole


def test_counts_survive_the_json_round_trip_of_a_chord_including_no_responses():
    frame = random_frame(8, 300, 3)
    for part in (frame, frame.iloc[:0]):
        counts = survey_cell_counts(part, QUESTIONS)
        assert CellCounts.from_dict(json.loads(json.dumps(counts.as_dict()))) == counts


def test_the_driver_moments_are_the_sums_over_responses_that_answered_both_items():
    frame = random_frame(9, 800, 3)
    counts = survey_cell_counts(frame, QUESTIONS)
    pair = counts.pairs.index(("service_care", "service"))
    for p, project in enumerate(counts.projects):
        rows = frame[(frame.project == project) & (frame.service_care > 0) & (frame.service > 0)]
        x, y = rows.service_care.astype(int), rows.service.astype(int)
        expected = [len(rows), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()]
        assert counts.moments[pair, p].sum(axis=0).tolist() == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_partial_counts_of_disjoint_project_groups_combine_to_the_engines_rows_bit_for_bit(seed):
    frame = random_frame(seed, 3000, 7)
    # An empty cell and a project with a single response make the edges real.
    frame = frame[~((frame.project == "P03") & (frame.stage == "stable"))]
    frame = pd.concat([frame, frame.iloc[:1].assign(project="P99")])
    groups = [["P00", "P05", "P99"], ["P01", "P02", "P03"], ["P04", "P06"], ["nobody"]]
    partials = [partial_counts(frame[frame.project.isin(group)], QUESTIONS) for group in groups]

    expected = compute_survey_metrics(frame, QUESTIONS)
    combined = combine_partials(partials, QUESTIONS)

    assert combined.rows == expected.rows
    assert combined.items == expected.items
    assert combined.drivers == expected.drivers
    assert len(expected.drivers) > 0


def test_combining_a_single_partial_of_everything_is_the_engine_too():
    frame = random_frame(4, 500, 3)
    assert combine_partials([partial_counts(frame, QUESTIONS)], QUESTIONS) == compute_survey_metrics(frame, QUESTIONS)


def test_partials_of_different_questionnaires_are_refused():
    frame = random_frame(5, 50, 2)
    other = [QuestionSpec(q.code, q.kind, q.port) for q in STANDARD[:3]]
    with pytest.raises(ValueError):
        combine_partials([partial_counts(frame, QUESTIONS), partial_counts(frame[["project", "stage", "overall", "repurchase", "recommend"]], other)], QUESTIONS)


def snapshot_values():
    """Every snapshot row's content, without ids and timestamps."""
    skip = {"id", "computed_at"}

    def rows(model):
        fields = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
        return sorted(model.objects.values_list(*fields), key=repr)

    return rows(MetricSnapshot), rows(ItemSnapshot), rows(DriverSnapshot)


@pytest.fixture
def seeded(db):
    call_command("seed_scale", survey="scale-unit", responses=3000, projects=6, seed=7)
    return Survey.objects.get(code="scale-unit")


def test_seed_scale_makes_the_requested_responses_with_their_frozen_stages(seeded):
    assert Response.objects.filter(survey=seeded).count() == 3000
    assert Response.objects.filter(survey=seeded).values("project").distinct().count() == 6
    stages = set(Response.objects.filter(survey=seeded).values_list("stage", flat=True))
    assert stages == set(STAGES)
    # Stage is frozen as of the survey date, so it must agree with the owner's move-in date.
    from owners.stages import stage_as_of

    for response in Response.objects.filter(survey=seeded).select_related("owner")[:300]:
        assert response.stage == stage_as_of(response.owner.move_in_date, response.surveyed_on)


def test_the_partition_plan_covers_every_project_once_in_balanced_groups(seeded):
    plan = metrics_partition_plan(survey_id=seeded.pk, rows_per_partition=1000)
    ids = [project_id for group in plan for project_id in group]
    assert sorted(ids) == sorted(set(Response.objects.filter(survey=seeded).values_list("project_id", flat=True)))
    assert len(plan) == 3
    sizes = [Response.objects.filter(survey=seeded, project_id__in=group).count() for group in plan]
    assert max(sizes) - min(sizes) < 800


@pytest.mark.django_db(transaction=True)
def test_a_partitioned_recompute_writes_exactly_the_single_task_snapshots():
    call_command("seed_scale", survey="scale-chord", responses=2000, projects=5, seed=11)
    survey = Survey.objects.get(code="scale-chord")
    metrics_compute(survey_id=survey.pk)
    single = snapshot_values()
    MetricSnapshot.objects.all().delete()
    ItemSnapshot.objects.all().delete()
    DriverSnapshot.objects.all().delete()
    run = MetricRun.objects.create(survey=survey, requested_at=survey.created_at)

    # Eager Celery runs the chord in-process: three partition tasks, then the combining callback.
    sent = metrics_compute_partitioned(
        survey_id=survey.pk, run_ids=[run.pk], plan=metrics_partition_plan(survey_id=survey.pk, rows_per_partition=700)
    )

    assert sent == 3
    assert snapshot_values() == single
    run.refresh_from_db()
    assert run.status == MetricRun.Status.DONE and run.responses == 2000


def test_a_partitioned_run_that_dies_before_combining_leaves_the_previous_snapshots_and_a_rerun_completes(seeded):
    metrics_compute(survey_id=seeded.pk)
    before = snapshot_values()
    stamps = set(MetricSnapshot.objects.values_list("computed_at", flat=True))
    # New answers arrive, then a partitioned run counts two of three groups and its worker dies.
    Response.objects.filter(survey=seeded, project__code="SCALE-01").update(answers="1" * 24)
    plan = metrics_partition_plan(survey_id=seeded.pk, rows_per_partition=1000)
    [metrics_partial_compute(survey_id=seeded.pk, project_ids=group) for group in plan[:2]]

    assert snapshot_values() == before
    assert set(MetricSnapshot.objects.values_list("computed_at", flat=True)) == stamps

    partials = [metrics_partial_compute(survey_id=seeded.pk, project_ids=group) for group in plan]
    metrics_combine_partials(survey_id=seeded.pk, partials=partials, run_ids=[])
    partitioned = snapshot_values()
    metrics_compute(survey_id=seeded.pk)
    assert partitioned == snapshot_values() != before


@pytest.mark.integration
@pytest.mark.django_db
def test_on_postgresql_the_binary_copy_reader_gives_the_engine_the_same_numbers_as_survey_frame():
    from satisfaction.selectors import survey_frame, survey_frame_for_projects, survey_question_specs

    call_command("seed_scale", survey="scale-binary", responses=4000, projects=5, seed=3)
    survey = Survey.objects.get(code="scale-binary")
    # An answer string shorter than the questionnaire (answered before questions were added) reads as unanswered.
    Response.objects.filter(pk=Response.objects.filter(survey=survey).order_by("id").first().pk).update(answers="545")
    specs = survey_question_specs(survey=survey)

    everything = survey_frame_for_projects(survey=survey)
    assert len(everything) == 4000
    assert compute_survey_metrics(everything, specs) == compute_survey_metrics(survey_frame(survey=survey), specs)
    plan = metrics_partition_plan(survey_id=survey.pk, rows_per_partition=1500)
    partials = [partial_counts(survey_frame_for_projects(survey=survey, project_ids=g), specs) for g in plan]
    assert combine_partials(partials, specs) == compute_survey_metrics(everything, specs)
    assert len(survey_frame_for_projects(survey=survey, project_ids=[])) == 0


def test_a_chord_that_hands_over_one_group_twice_and_misses_another_still_gives_the_single_tasks_snapshots(seeded):
    """A partition redelivered after its worker died between storing its result and acknowledging it is counted
    twice by the chord, whose callback may then run with that group twice and another group missing."""
    from satisfaction.services import metrics_combine_partition_results
    from satisfaction.tasks import recompute_survey_partition

    metrics_compute(survey_id=seeded.pk)
    single = snapshot_values()
    plan = metrics_partition_plan(survey_id=seeded.pk, rows_per_partition=1000)
    assert len(plan) >= 3
    results = [recompute_survey_partition.run(seeded.pk, group) for group in plan]
    handed_over = [results[0], results[0], *results[2:]]  # group 0 twice, group 1 missing

    metrics_combine_partition_results(survey_id=seeded.pk, results=handed_over, plan=plan, run_ids=[])

    assert snapshot_values() == single
