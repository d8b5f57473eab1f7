"""The year a survey counts for: one rule, read alike by the plans' follow-through and the dashboards' targets."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from surveys.models import Survey
from surveys.selectors import survey_year
from surveys.services import survey_create

# Created just after midnight on New Year's Day in China, which is still the old year in UTC.
CREATED = datetime(2027, 1, 1, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "year"),
    [
        (date(2025, 11, 1), None, 2025),  # start only
        (None, date(2026, 2, 28), 2026),  # end only
        (date(2025, 11, 1), date(2026, 2, 28), 2025),  # both: the start counts
        (None, None, 2027),  # neither: the local year it was created
    ],
    ids=["start-only", "end-only", "both", "neither"],
)
def test_a_survey_counts_for_its_start_else_its_end_else_its_creation_year(starts_on, ends_on, year):
    survey = Survey(code="s", name="s", starts_on=starts_on, ends_on=ends_on, created_at=CREATED)
    assert survey_year(survey) == year


def test_the_dashboards_take_the_targets_of_an_end_dated_surveys_year(db):
    from dashboards.selectors import dashboard_targets
    from improvement_plans.models import ImprovementPlan, PlanStatus

    ImprovementPlan.objects.create(year=2026, port="", status=PlanStatus.APPROVED, satisfaction_target=0.85)
    ImprovementPlan.objects.create(year=2025, port="", status=PlanStatus.APPROVED, satisfaction_target=0.80)
    # A wave of the company series (plans are judged against their own series since issue 14), dated by its end only.
    survey = survey_create(code="winter", name="冬季调查", source="company", ends_on=date(2026, 2, 28))
    survey.created_at = datetime(2025, 12, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert dashboard_targets(survey=survey)["company"]["satisfaction"] == 0.85
