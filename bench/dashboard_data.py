"""Synthetic projects for the dashboard benchmark: more rows per page than the demo's six projects give.

Each project gets owners in every lifecycle stage and a response in every existing survey, scored by a small
latent model (bulk inserts); then every survey is recomputed, so the pages read real snapshots.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from owners.models import Owner, Project
from owners.stages import stage_as_of
from satisfaction.services import metrics_compute
from surveys.answers import answer_codes, encode_answer_matrix
from surveys.models import Response, Survey
from surveys.selectors import survey_questions

OWNERS_PER_PROJECT = 400


def add_synthetic_projects(*, count: int, seed: int = 7) -> int:
    """Add ``count`` projects with responses in every survey; returns the number of responses written."""
    rng = np.random.default_rng(seed)
    surveys = list(Survey.objects.order_by("id"))
    written = 0
    for index in range(count):
        project = Project.objects.create(code=f"SYN-{index:03d}", name=f"合成楼盘{index + 1:03d}", city="基准")
        first = min((s.starts_on for s in surveys if s.starts_on), default=None)
        owners = Owner.objects.bulk_create(
            Owner(
                project=project,
                unit=f"{i // 100 + 1}-{i % 100 + 1:03d}",
                name=f"基准业主{i:04d}",
                move_in_date=None if first is None or i % 5 == 0 else first - timedelta(days=int(rng.integers(0, 1500))),
            )
            for i in range(OWNERS_PER_PROJECT)
        )
        level = rng.normal(0, 0.4)
        for survey in surveys:
            codes = answer_codes(survey_questions(survey=survey))
            surveyed_on = survey.starts_on or survey.created_at.date()
            latent = rng.normal(level, 1, size=(len(owners), 1))
            noise = rng.normal(0, 0.9, size=(len(owners), len(codes)))
            scores = np.clip(np.rint(3.9 + 0.7 * latent + noise), 1, 5).astype(int)
            missing = rng.random(size=scores.shape) < 0.04
            missing[:, :3] = False  # the headline items are required
            answer_strings = encode_answer_matrix(np.where(missing, 0, scores).astype(np.int8)).tolist()
            rows = []
            for i, owner in enumerate(owners):
                answers = answer_strings[i]
                rows.append(
                    Response(
                        survey=survey,
                        owner=owner,
                        project=project,
                        questionnaire_no=f"SYN-{index:03d}-{i:04d}",
                        surveyed_on=surveyed_on,
                        stage=stage_as_of(owner.move_in_date, surveyed_on),
                        answers=answers,
                    )
                )
            Response.objects.bulk_create(rows, batch_size=1000)
            written += len(rows)
    for survey in surveys:
        metrics_compute(survey_id=survey.pk)
    return written
