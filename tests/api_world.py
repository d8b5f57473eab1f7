"""A small, complete world for the API and security tests: two projects, owners with phones, one computed survey."""

from dataclasses import dataclass, field
from datetime import date

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
