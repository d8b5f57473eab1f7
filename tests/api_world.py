"""A small, complete world for the API and security tests: two projects, owners with phones, one computed survey.

A module builds it once (``shared_world``) and each test starts from it: the world lives in a transaction that stays
open while the module's tests run, each test's own transaction is a savepoint inside it and rolls back to it, and the
world is rolled back when the module is done.
"""

import copy
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction

from owners.models import Owner, Project
from satisfaction.services import metrics_compute
from surveys.models import Survey
from surveys.services import response_submit, survey_create

PHONES = ["13812345678", "13987654321", "15011112222", "18633334444", "17755556666", "13600001111"]


@dataclass
class World:
    survey: Survey
    projects: list[Project]
    owners: list[Owner] = field(default_factory=list)


def build_world(*, code: str = "2026-annual") -> World:
    survey = survey_create(code=code, name="2026 年度满意度调查", starts_on=date(2026, 3, 1), ends_on=date(2026, 4, 30))
    lake = Project.objects.create(code="lake", name="湖畔花园", city="杭州")
    hill = Project.objects.create(code="hill", name="山景苑", city="杭州")
    world = World(survey=survey, projects=[lake, hill])
    move_ins = [None, date(2025, 9, 1), date(2024, 1, 1), date(2020, 5, 1), date(2025, 12, 1), date(2019, 3, 3)]
    for i, phone in enumerate(PHONES):
        project = lake if i % 2 == 0 else hill
        owner = Owner.objects.create(
            project=project, unit=f"{i + 1}-1-{1501 + i}", name=f"业主{i + 1}", phone=phone, move_in_date=move_ins[i]
        )
        world.owners.append(owner)
        score = 5 - (i % 3)
        scores = {
            "overall": score, "repurchase": score, "recommend": 4,
            "design": 4, "design_layout": 3, "engineering": 2 + (i % 4), "engineering_finish": 4,
            "sales": 5, "service": 4, "property": 3 + (i % 3), "property_cleaning": 5,
        }
        response_submit(
            survey=survey, owner=owner, questionnaire_no=f"Q{i + 1:04d}", surveyed_on=date(2026, 3, 10),
            scores=scores, channel="phone",
        )
    metrics_compute(survey_id=survey.pk)
    return world


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    return bool(marker and marker.kwargs.get("transaction")) or "transactional_db" in fixtures or "live_server" in fixtures


def shared_world(request, django_db_blocker, build: Callable[[], World] = build_world) -> Iterator[World]:
    """The body of a module-scoped, autouse fixture: ``build()`` once for the module, rolled back after its last test.

    Every test of the module then sees the same rows, whichever ran before it. A transactional test (live server,
    browser) would commit or flush inside the open transaction: such tests belong in a module of their own, and this
    refuses to start otherwise.
    """
    module = request.node
    mixed = [item.name for item in request.session.items if item.module is module.obj and _transactional(item)]
    if mixed:
        raise RuntimeError(f"{module.name} shares a world between its tests; move the transactional ones out: {mixed}")
    outer = transaction.atomic()
    with django_db_blocker.unblock():  # only while building and rolling back: the tests keep their own db access
        outer.__enter__()
        try:
            world = build()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield world
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def fresh(world: World) -> World:
    """A test's own copy of the shared world's objects, so that a test changing one in memory affects no other."""
    return copy.deepcopy(world)
