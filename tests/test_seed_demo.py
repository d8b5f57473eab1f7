"""The demo data set (seed_demo) and the demo logins (demo_logins)."""

from collections import Counter

import pytest
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from statsmodels.stats import proportion

from demo.surveys import DEMO_PASSWORD, DEMO_USERS, SURVEYS, demo_dataset
from departments.selectors import ALL_PORTS, ports_owned_by, ports_visible_to
from owners.models import Owner, Project
from owners.stages import STAGES, stage_as_of
from satisfaction.metrics.engine import two_proportion_change
from satisfaction.models import DriverSnapshot, MetricRun, MetricSnapshot
from satisfaction.selectors import metric_rows
from surveys.models import Response, Survey
from surveys.services import survey_create


def test_the_demo_data_set_is_the_same_on_every_call():
    first, second = demo_dataset(), demo_dataset()
    assert first.owners == second.owners
    assert first.responses == second.responses


def test_the_demo_data_set_is_plausible_without_a_database():
    data = demo_dataset()
    assert 2800 <= len(data.owners) <= 3200
    assert len({(o.project, o.unit) for o in data.owners}) == len(data.owners)
    assert any(o.move_in_date is None for o in data.owners), "some owners have not moved in"
    sizes = {"2025-annual": (1500, 2500), "2026-annual": (1500, 2500), "2026-group": (400, 900), "callback-2025": (100, 400)}
    assert {wave.code: wave.series for wave in SURVEYS} == {
        "2025-annual": "company", "2026-annual": "company", "2026-group": "group", "callback-2025": "callback"}
    for wave in SURVEYS:
        responses = data.responses[wave.code]
        low, high = sizes[wave.code]
        assert low <= len(responses) <= high, wave.code
        assert len({r.owner for r in responses}) == len(responses), "one response per owner and survey"
        assert set(Counter(r.stage for r in responses)) == set(wave.stages or STAGES)
        width = 3 if wave.questionnaire.startswith("headline") else 24
        for r in responses:
            assert wave.starts_on <= r.surveyed_on <= wave.ends_on
            assert r.stage == stage_as_of(data.owners[r.owner].move_in_date, r.surveyed_on)
            assert len(r.answers) == width and "-" not in r.answers[:3], "the three headline items are required"
        if width == 24:
            blanks = sum(r.answers.count("-") for r in responses)
            assert 0.02 < blanks / (24 * len(responses)) < 0.2, "some items are left unanswered"


@pytest.mark.django_db
def test_seed_demo_loads_projects_owners_surveys_users_and_their_metrics(capsys):
    call_command("seed_demo")
    assert f"password {DEMO_PASSWORD}" in capsys.readouterr().out
    assert Project.objects.filter(city__in=["深圳", "广州"]).count() == Project.objects.count() == 6
    assert Owner.objects.count() == Owner.history.count() == len(demo_dataset().owners)
    assert Response.history.count() == Response.objects.count()
    surveys = {s.code: s for s in Survey.objects.order_by("code")}
    assert list(surveys) == ["2025-annual", "2026-annual", "2026-group", "callback-2025"]
    assert surveys["2026-annual"].name == "2026年度客户满意度调查"
    assert {code: s.series.code for code, s in surveys.items()} == {
        "2025-annual": "company", "2026-annual": "company", "2026-group": "group", "callback-2025": "callback"}
    for survey in surveys.values():
        scores = 3 if survey.series.code == "callback" else 24
        comments = {"2026-annual": 6, "callback-2025": 1}.get(survey.code, 0)  # open questions (demo.comments)
        assert survey.questions.exclude(kind="comment").count() == scores
        assert survey.questions.filter(kind="comment").count() == comments
        assert MetricRun.objects.filter(survey=survey).get().status == MetricRun.Status.DONE
        headline = MetricSnapshot.objects.get(survey=survey, port="", project=None, stage="")
        assert headline.n == survey.responses.count()
        assert 0.6 < headline.satisfaction_rate < 0.95 and 0.4 < headline.loyalty_rate < headline.satisfaction_rate

    def rate(code, port, project=None, stage=""):
        row = MetricSnapshot.objects.get(survey=surveys[code], port=port, project__code=project, stage=stage)
        return row.satisfied, row.n

    # The story the dashboards tell: weak property at 天河云著, run-in owners unhappy with engineering,
    # property better in 2026 than in 2025 (significantly).
    th01, company = rate("2026-annual", "property", "GZ-TH01"), rate("2026-annual", "property")
    assert th01[0] / th01[1] < company[0] / company[1] - 0.1
    run_in = MetricSnapshot.objects.get(survey=surveys["2026-annual"], port="engineering", project=None, stage="run_in")
    veteran = MetricSnapshot.objects.get(survey=surveys["2026-annual"], port="engineering", project=None, stage="veteran")
    assert run_in.satisfaction_rate < veteran.satisfaction_rate
    assert two_proportion_change(*rate("2025-annual", "property"), *rate("2026-annual", "property")).significant
    # Like with like: the 2026 headline reads against 2025-annual (the callback and group waves are other series).
    headline = next(r for r in metric_rows(survey=surveys["2026-annual"]) if r["port"] is r["project"] is r["stage"] is None)
    reference = proportion.test_proportions_2indep(*rate("2026-annual", ""), *rate("2025-annual", ""), method="wald")
    assert headline["change"]["from_survey"] == "2025-annual" and headline["change"]["significant"]
    assert headline["change"]["z"] == pytest.approx(reference.statistic, rel=1e-12) and 2.7 < reference.statistic < 2.9
    group = next(r for r in metric_rows(survey=surveys["2026-group"]) if r["port"] is r["project"] is r["stage"] is None)
    assert group["change"] is None  # the group series' first wave
    # The group wave is weighted to the owner roster (加权), the others are not; its weighted headline equals an
    # independent computation from the roster and the answers.
    from satisfaction.selectors import survey_frame, survey_population
    from tests.test_weighting import independent

    assert [code for code, s in surveys.items() if s.weighting == "population"] == ["2026-group"]
    assert not MetricSnapshot.objects.filter(survey__code__in=["2025-annual", "2026-annual", "callback-2025"],
                                             n_eff__isnull=False).exists()  # fmt: skip
    weighted = MetricSnapshot.objects.get(survey=surveys["2026-group"], port="", project=None, stage="")
    frame = survey_frame(survey=surveys["2026-group"]).astype({"project": str, "stage": str}).replace(0, float("nan"))
    expected = independent(frame, "overall", population=survey_population(survey=surveys["2026-group"]))
    assert weighted.weighted_rate == pytest.approx(expected["rate"], abs=1e-12)
    assert weighted.n_eff == pytest.approx(expected["n_eff"], rel=1e-12) and 30 < weighted.n_eff < weighted.n
    assert group["weighted_rate"] == weighted.weighted_rate and group["n_eff"] == weighted.n_eff
    # Detail items drive their port: every importance clearly positive.
    drivers = DriverSnapshot.objects.filter(survey=surveys["2026-annual"], project=None).exclude(port="")
    assert drivers.count() == 16 and all(d.importance > 0.2 for d in drivers)


@pytest.mark.django_db
def test_seed_demo_refuses_a_database_with_surveys_and_if_empty_then_does_nothing(capsys):
    survey_create(code="2026-spring", name="已有调查")
    with pytest.raises(CommandError, match="调查数据已存在"):
        call_command("seed_demo")
    call_command("seed_demo", if_empty=True)
    assert "not loaded" in capsys.readouterr().out
    assert not Project.objects.exists() and not User.objects.exists()


@pytest.mark.django_db
def test_the_demo_users_log_in_with_the_documented_password_and_see_their_ports():
    from demo.surveys import demo_users_ensure

    demo_users_ensure()
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        validate_password(DEMO_PASSWORD, user)  # the configured validators accept it for every demo user
        assert user.is_active and user.check_password(DEMO_PASSWORD)
    visible = {spec.username: ports_visible_to(User.objects.get(username=spec.username)) for spec in DEMO_USERS}
    assert visible["head_property"] == {"property"}
    assert visible["head_engineering"] == {"engineering", "design"}
    assert visible["head_marketing"] == {"sales"}
    assert visible["head_design"] == {"design"}
    for username in ("staff", "mgmt", "committee", "head_service", "admin"):
        assert visible[username] == ALL_PORTS, username
    assert ports_owned_by(User.objects.get(username="head_service")) == {"service"}
    assert ports_owned_by(User.objects.get(username="staff")) == frozenset()
    assert User.objects.get(username="admin").is_superuser
    assert set(User.objects.get(username="mgmt").groups.values_list("name", flat=True)) == {"management"}


@pytest.mark.django_db
def test_demo_logins_prints_every_demo_user_and_the_password(capsys):
    from demo.surveys import demo_users_ensure

    demo_users_ensure()
    call_command("demo_logins")
    out = capsys.readouterr().out
    assert DEMO_PASSWORD in out
    for spec in DEMO_USERS:
        assert spec.username in out and spec.description in out
    assert "not created" not in out
