"""Small, deterministic surveys for the dashboard tests: real responses, then the real recompute.

Two annual surveys (2025, 2026) over three projects — two large enough to rate, one below 30 answers — with
scores from a little latent model (detail items drive their port item, the ports drive overall) so that the
drivers and the trend have something to show. Property improves clearly from 2025 to 2026.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, timedelta
from html.parser import HTMLParser

import numpy as np

from owners.models import Owner, Project
from owners.stages import stage_as_of
from satisfaction.services import metrics_compute
from surveys.models import Response, Survey
from surveys.questionnaires import STANDARD
from surveys.services import survey_create

PROJECTS = (("SUN", "阳光花园", 110), ("RIV", "江景苑", 70), ("TINY", "小样本苑", 18))
CODES = [q.code for q in STANDARD]


def _score(rng, centre, noise, size):
    return np.clip(np.rint(centre + rng.normal(0, noise, size)), 1, 5).astype(int)


def build_survey(code: str, *, year: int, seed: int, property_shift: float = 0.0, projects=PROJECTS) -> Survey:
    """A standard survey surveyed on 1 April of ``year``, with responses from every project, computed."""
    surveyed_on = date(year, 4, 1)
    survey = survey_create(code=code, name=f"{year}年度满意度调查", starts_on=surveyed_on)
    rng = np.random.default_rng(seed)
    responses = []
    for project_code, name, size in projects:
        project, _ = Project.objects.get_or_create(code=project_code, defaults={"name": name})
        # Move-in dates spread over the four stages (none, < 1 year, 1–2 years, > 2 years before the survey).
        owners = Owner.objects.bulk_create(
            Owner(
                project=project,
                unit=f"{i // 20 + 1}-{i % 20 + 101}",
                name=f"业主{year}{i:03d}",
                move_in_date=None if i % 4 == 0 else surveyed_on - timedelta(days=[0, 100, 500, 1200][i % 4]),
            )
            for i in range(size)
        )
        for i, owner in enumerate(owners):
            latent = rng.normal(0, 1)
            scores: dict[str, int | None] = {}
            port_means = []
            for port in ("design", "engineering", "sales", "service", "property"):
                shift = property_shift if port == "property" else 0.0
                centre = 3.9 + shift + (0.3 if project_code == "SUN" else -0.1)
                details = [q.code for q in STANDARD if q.kind == "detail" and q.port == port]
                weights = np.linspace(1.2, 0.3, len(details))
                values = []
                for weight, detail in zip(weights, details):
                    value = int(_score(rng, centre + weight * 0.6 * latent, 0.8, 1)[0])
                    values.append(value * weight)
                    scores[detail] = value if rng.random() > 0.05 else None
                port_score = int(_score(rng, sum(values) / weights.sum(), 0.5, 1)[0])
                scores[port] = port_score
                port_means.append(port_score)
            overall = int(_score(rng, np.mean(port_means), 0.5, 1)[0])
            scores["overall"] = overall
            scores["repurchase"] = int(_score(rng, overall - 0.2, 0.7, 1)[0])
            scores["recommend"] = int(_score(rng, overall, 0.7, 1)[0])
            answers = "".join("-" if scores.get(c) is None else str(scores[c]) for c in CODES)
            responses.append(
                Response(
                    survey=survey,
                    owner=owner,
                    project=project,
                    questionnaire_no=f"{code}-{project_code}-{i:04d}",
                    surveyed_on=surveyed_on,
                    stage=stage_as_of(owner.move_in_date, surveyed_on),
                    answers=answers,
                )
            )
    Response.objects.bulk_create(responses)
    metrics_compute(survey_id=survey.pk)
    return survey


def build_two_surveys() -> tuple[Survey, Survey]:
    first = build_survey("2025-annual", year=2025, seed=11, property_shift=-0.9)
    second = build_survey("2026-annual", year=2026, seed=12, property_shift=0.3)
    return first, second


def remove_built_data() -> None:
    """Undo ``build_two_surveys`` (responses protect their survey, owner and project, so they go first)."""
    codes = [code for code, _name, _size in PROJECTS]
    project_ids = list(Project.objects.filter(code__in=codes).values_list("id", flat=True))
    Response.objects.filter(project_id__in=project_ids).delete()
    Survey.objects.filter(code__in=["2025-annual", "2026-annual"]).delete()
    Owner.objects.filter(project_id__in=project_ids).delete()
    Project.objects.filter(id__in=project_ids).delete()
    # Deleting rows adds history of its own: clear every history row of the built data, so later tests that count
    # history start from nothing.
    Response.history.filter(project_id__in=project_ids).delete()
    Owner.history.filter(project_id__in=project_ids).delete()


@contextmanager
def surveys_for_module(django_db_blocker):
    """Build the two surveys once for a test module (each test still runs in its own rolled-back transaction)."""
    with django_db_blocker.unblock():
        surveys = build_two_surveys()
    try:
        yield surveys
    finally:
        with django_db_blocker.unblock():
            remove_built_data()


class _TableReader(HTMLParser):
    """Rows of one <table id=…>: each row's attributes and its cells (text and attributes)."""

    def __init__(self, table_id: str):
        super().__init__()
        self.table_id = table_id
        self.depth = 0  # > 0 while inside the wanted table
        self.rows: list[dict] = []
        self.cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            if self.depth or attrs.get("id") == self.table_id:
                self.depth += 1
            return
        if not self.depth:
            return
        if tag == "tr":
            self.rows.append({"attrs": attrs, "cells": []})
        elif tag in ("td", "th") and self.rows:
            self.cell = {"attrs": attrs, "text": "", "tag": tag}
            self.rows[-1]["cells"].append(self.cell)

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th"):
            self.cell = None

    def handle_data(self, data):
        if self.depth and self.cell is not None:
            self.cell["text"] += data


def read_table(html: str | bytes, table_id: str) -> list[dict]:
    """The rows of the table with this id; each row {"attrs", "cells": [{"text", "attrs", "tag"}], "texts"}."""
    reader = _TableReader(table_id)
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    for row in reader.rows:
        for cell in row["cells"]:
            cell["text"] = " ".join(cell["text"].split())
        row["texts"] = [cell["text"] for cell in row["cells"]]
    return reader.rows


def body_rows(html, table_id: str) -> list[dict]:
    """Data rows only (the header row has no <td>)."""
    return [row for row in read_table(html, table_id) if any(c["tag"] == "td" for c in row["cells"])]
