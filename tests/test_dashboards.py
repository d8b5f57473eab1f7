"""Dashboards: the numbers in the server-rendered tables are the snapshot rows, and each role sees its ports only."""

import json
import sys

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from core.templatetags.csm import pct
from dashboards import selectors as dashboard_selectors
from owners.models import Project
from owners.stages import Stage
from satisfaction.metrics.engine import target_status
from satisfaction.models import ItemSnapshot, MetricRun, MetricSnapshot
from satisfaction.services import metrics_compute
from surveys.models import Response, Survey
from surveys.services import survey_create
from tests.conftest import make_user
from tests.dashboard_fixtures import body_rows, build_survey, surveys_for_module

PORTS = ["design", "engineering", "sales", "service", "property"]


@pytest.fixture(scope="module")
def built(django_db_setup, django_db_blocker):
    with surveys_for_module(django_db_blocker) as surveys:
        yield surveys


@pytest.fixture
def surveys(built, db):
    return built


def whole(survey, port="", stage=""):
    return MetricSnapshot.objects.get(survey=survey, port=port, project__isnull=True, stage=stage)


def interval_text(low, high):
    return f"{pct(low)} – {pct(high)}"


def value_of(cell) -> float | None:
    raw = cell["attrs"].get("data-value", "")
    return float(raw) if raw not in ("", None) else None


# --- Numbers ------------------------------------------------------------------------------------------------------


def test_the_port_dashboard_tables_show_the_snapshot_rows(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    html = client.get("/dashboards/ports/property/?survey=2026-annual").content

    headline = body_rows(html, "port-headline")[0]
    row = whole(survey, "property")
    assert headline["texts"][1] == pct(row.satisfaction_rate)
    assert headline["texts"][2] == interval_text(row.satisfaction_ci_low, row.satisfaction_ci_high)
    assert headline["texts"][3] == str(row.n)

    projects = body_rows(html, "project-table")
    expected = MetricSnapshot.objects.filter(survey=survey, port="property", stage="", project__isnull=False)
    assert len(projects) == expected.count() == 3
    by_code = {r.project.code: r for r in expected}
    for line in projects:
        snap = by_code[line["attrs"]["data-project"]]
        assert line["texts"][2].split()[0] == pct(snap.satisfaction_rate)
        assert value_of(line["cells"][2]) == snap.satisfaction_rate
        assert line["texts"][3] == interval_text(snap.satisfaction_ci_low, snap.satisfaction_ci_high)
        assert line["texts"][5] == str(snap.n)
        assert ("样本不足" in line["texts"][2]) == (snap.n < 30)
    rates = [value_of(line["cells"][2]) for line in projects]
    assert rates == sorted(rates, reverse=True)

    stages = body_rows(html, "stage-table")
    for line in stages:
        snap = whole(survey, "property", line["attrs"]["data-stage"])
        assert value_of(line["cells"][1]) == snap.satisfaction_rate
        assert line["texts"][4] == str(snap.n)
    assert [line["attrs"]["data-stage"] for line in stages] == [
        s for s in Stage.values if MetricSnapshot.objects.filter(survey=survey, port="property", project=None, stage=s).exists()
    ]

    items = body_rows(html, "item-table")
    snaps = {
        i.question_code: i
        for i in ItemSnapshot.objects.filter(survey=survey, port="property", project__isnull=True, stage="")
        if i.question_code != "property"
    }
    assert {line["attrs"]["data-item"] for line in items} == set(snaps)
    for line in items:
        snap = snaps[line["attrs"]["data-item"]]
        assert value_of(line["cells"][2]) == snap.satisfaction_rate
        assert line["texts"][4] == f"{snap.mean_score:.2f}"
        assert line["texts"][5] == str(snap.n)
    item_rates = [value_of(line["cells"][2]) for line in items]
    assert item_rates == sorted(item_rates), "weakest item first"


def test_the_overview_shows_headline_loyalty_ports_and_stages_as_the_snapshots_say(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    html = client.get("/dashboards/").content
    headline = whole(survey)
    figures = body_rows(html, "headline-table")
    assert figures[0]["texts"][1] == pct(headline.satisfaction_rate)
    assert figures[0]["texts"][2] == interval_text(headline.satisfaction_ci_low, headline.satisfaction_ci_high)
    assert figures[1]["texts"][1] == pct(headline.loyalty_rate)
    assert figures[1]["texts"][3] == str(headline.loyalty_base)

    ports = body_rows(html, "port-table")
    assert [line["attrs"]["data-port"] for line in ports] == PORTS
    for line in ports:
        assert value_of(line["cells"][1]) == whole(survey, line["attrs"]["data-port"]).satisfaction_rate

    for line in body_rows(html, "stage-table"):
        stage = line["attrs"]["data-stage"]
        snap = whole(survey, "", stage)
        assert value_of(line["cells"][1]) == snap.satisfaction_rate
        assert value_of(line["cells"][7]) == snap.loyalty_rate  # after headline and five ports
        for offset, port in enumerate(PORTS, start=2):
            assert value_of(line["cells"][offset]) == whole(survey, port, stage).satisfaction_rate

    trend = body_rows(html, "trend-table")
    assert [line["attrs"]["data-survey"] for line in trend if line["attrs"]["data-port"] == ""] == [
        "2025-annual",
        "2026-annual",
    ]


def test_the_json_endpoint_carries_the_numbers_of_the_tables(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    data = client.get("/dashboards/ports/property/data.json?survey=2026-annual").json()
    assert data["survey"] == "2026-annual" and data["pending"] is False and data["computed_at"]
    html = client.get("/dashboards/ports/property/?survey=2026-annual").content
    table = [value_of(line["cells"][2]) * 100 for line in body_rows(html, "project-table")]
    assert data["charts"]["projects"]["series"][0]["data"] == pytest.approx(table)
    items = [value_of(line["cells"][2]) * 100 for line in body_rows(html, "item-table")]
    assert data["charts"]["items"]["series"][0]["data"] == pytest.approx(items)
    assert set(data["charts"]) == {"projects", "stages", "items", "drivers", "trend"}
    assert data["charts"]["trend"]["series"][0]["marks"] == ["", "up"]


def test_filters_narrow_the_port_dashboard_to_a_project_and_stage(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    html = client.get("/dashboards/ports/engineering/?survey=2026-annual&project=SUN&stage=veteran").content
    snap = MetricSnapshot.objects.get(survey=survey, port="engineering", project__code="SUN", stage="veteran")
    assert value_of(body_rows(html, "port-headline")[0]["cells"][1]) == snap.satisfaction_rate
    # by project: the same stage in every project; by stage: the same project in every stage
    for line in body_rows(html, "project-table"):
        cell = MetricSnapshot.objects.get(
            survey=survey, port="engineering", project__code=line["attrs"]["data-project"], stage="veteran"
        )
        assert value_of(line["cells"][2]) == cell.satisfaction_rate
    for line in body_rows(html, "stage-table"):
        cell = MetricSnapshot.objects.get(
            survey=survey, port="engineering", project__code="SUN", stage=line["attrs"]["data-stage"]
        )
        assert value_of(line["cells"][1]) == cell.satisfaction_rate


def test_an_older_survey_is_shown_when_asked_for(client, manager, surveys):
    first, _ = surveys
    client.force_login(manager)
    html = client.get("/dashboards/ports/property/?survey=2025-annual").content
    assert value_of(body_rows(html, "port-headline")[0]["cells"][1]) == whole(first, "property").satisfaction_rate


def test_unknown_survey_project_or_stage_gets_a_chinese_message(client, manager, surveys):
    client.force_login(manager)
    response = client.get("/dashboards/ports/property/?survey=2099-none")
    assert response.status_code == 404
    assert "未找到调查“2099-none”" in response.content.decode()
    response = client.get("/dashboards/projects/NOPE/")
    assert response.status_code == 404 and "未找到楼盘“NOPE”" in response.content.decode()
    response = client.get("/dashboards/?stage=old")
    assert response.status_code == 404 and "未知的业主阶段" in response.content.decode()
    assert client.get("/dashboards/ports/marketing/").status_code == 404
    assert client.get("/dashboards/ports/property/data.json?survey=x").json() == {"errors": ["未找到调查“x”。"]}


def test_a_page_with_no_survey_yet_says_so(client, manager, surveys):
    Response.objects.all().delete()
    Survey.objects.all().delete()
    client.force_login(manager)
    response = client.get("/dashboards/ports/property/")
    assert response.status_code == 200
    assert "还没有调查数据" in response.content.decode()


def test_pages_say_when_numbers_were_computed_and_show_updating_while_a_recompute_is_pending(client, manager, surveys):
    _, survey = surveys
    client.force_login(manager)
    for url in ("/dashboards/", "/dashboards/ports/property/", "/dashboards/projects/SUN/", "/dashboards/projects/"):
        page = client.get(url).content.decode()
        assert "数据计算于" in page and "更新中" not in page, url
    MetricRun.objects.create(survey=survey, requested_at=timezone.now())
    for url in ("/dashboards/", "/dashboards/ports/property/", "/dashboards/projects/SUN/", "/dashboards/projects/"):
        assert "更新中" in client.get(url).content.decode(), url
    assert client.get("/dashboards/ports/property/data.json").json()["pending"] is True


# --- Targets ------------------------------------------------------------------------------------------------------


def test_targets_come_from_the_improvement_plans_and_are_judged_on_the_whole_interval(client, manager, surveys, monkeypatch):
    _, survey = surveys
    headline = whole(survey)
    prop = whole(survey, "property")
    eng = whole(survey, "engineering")
    targets = {
        "company": {"satisfaction": headline.satisfaction_ci_low - 0.01, "loyalty": headline.loyalty_ci_high + 0.01},
        "ports": {"property": prop.satisfaction_rate, "engineering": None},
    }
    calls = []

    def plan_targets(*, year, series_id=None):
        calls.append(year)
        return targets

    import improvement_plans.selectors

    monkeypatch.setattr(improvement_plans.selectors, "plan_targets", plan_targets, raising=False)
    client.force_login(manager)
    html = client.get("/dashboards/").content
    assert calls == [2026]
    figures = body_rows(html, "headline-table")
    assert figures[0]["texts"][5] == "达标"
    assert target_status((headline.satisfaction_ci_low, headline.satisfaction_ci_high), targets["company"]["satisfaction"]) == "met"
    assert figures[1]["texts"][5] == "未达标"
    assert value_of(figures[0]["cells"][4]) == pytest.approx(targets["company"]["satisfaction"])
    ports = {line["attrs"]["data-port"]: line for line in body_rows(html, "port-table")}
    assert ports["property"]["texts"][5] == "不确定"  # the rate itself lies inside its interval
    assert ports["engineering"]["texts"][5] == "未设目标"
    assert eng.satisfaction_rate is not None


def test_without_a_plan_targets_selector_the_dashboards_show_no_targets(surveys, monkeypatch):
    _, survey = surveys
    monkeypatch.setitem(sys.modules, "improvement_plans.selectors", None)  # import now raises ImportError
    assert dashboard_selectors.dashboard_targets(survey=survey) == {}


def test_targets_entered_as_percentages_are_read_as_fractions(surveys, monkeypatch):
    _, survey = surveys
    import improvement_plans.selectors

    monkeypatch.setattr(
        improvement_plans.selectors,
        "plan_targets",
        lambda *, year, series_id=None: {"company": {"satisfaction": 85, "loyalty": None}, "ports": {"property": 0.8}},
        raising=False,
    )
    assert dashboard_selectors.dashboard_targets(survey=survey) == {
        "company": {"satisfaction": 0.85, "loyalty": None},
        "ports": {"property": 0.8},
    }


# --- Scope --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["manager", "committee_member", "staff"])
def test_company_wide_roles_see_every_port(client, persona, request, surveys):
    client.force_login(request.getfixturevalue(persona))
    html = client.get("/dashboards/").content
    assert [line["attrs"]["data-port"] for line in body_rows(html, "port-table")] == PORTS
    for port in PORTS:
        assert client.get(f"/dashboards/ports/{port}/").status_code == 200
        assert client.get(f"/dashboards/ports/{port}/data.json").status_code == 200


def test_a_superuser_sees_every_port(client, surveys):
    admin = User.objects.create_superuser("root", password="x-Long-pass-2026")
    client.force_login(admin)
    assert client.get("/dashboards/ports/sales/").status_code == 200


def test_the_property_head_sees_property_and_is_refused_every_other_port(client, property_head, surveys):
    client.force_login(property_head)
    assert client.get("/dashboards/ports/property/").status_code == 200
    for port in ("design", "engineering", "sales", "service"):
        assert client.get(f"/dashboards/ports/{port}/").status_code == 403
        assert client.get(f"/dashboards/ports/{port}/data.json").status_code == 403
    html = client.get("/dashboards/").content
    assert [line["attrs"]["data-port"] for line in body_rows(html, "port-table")] == ["property"]
    trend_ports = {line["attrs"]["data-port"] for line in body_rows(html, "trend-table")}
    assert trend_ports == {"", "property"}
    charts = client.get("/dashboards/data.json").json()["charts"]
    assert charts["ports"]["categories"] == ["物业管理"]
    assert [s["name"] for s in charts["trend"]["series"]] == ["总体满意度", "忠诚度", "物业管理"]
    assert "工程质量" not in html.decode()


def test_the_engineering_head_also_sees_design_which_it_monitors(client, engineering_head, surveys):
    client.force_login(engineering_head)
    assert client.get("/dashboards/ports/engineering/").status_code == 200
    assert client.get("/dashboards/ports/design/").status_code == 200
    assert client.get("/dashboards/ports/property/").status_code == 403
    html = client.get("/dashboards/").content
    assert [line["attrs"]["data-port"] for line in body_rows(html, "port-table")] == ["design", "engineering"]
    nav = client.get("/").content.decode()
    assert "/dashboards/ports/design/" in nav and "/dashboards/ports/engineering/" in nav
    assert "/dashboards/ports/property/" not in nav


def test_a_user_without_a_role_is_refused_and_an_anonymous_one_sent_to_log_in(client, db):
    nobody = make_user("nobody")
    client.force_login(nobody)
    for url in ("/dashboards/", "/dashboards/ports/property/", "/dashboards/projects/", "/dashboards/data.json"):
        assert client.get(url).status_code == 403, url
    client.logout()
    response = client.get("/dashboards/ports/property/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_nav_offers_the_overview_to_company_wide_roles_only(client, manager, property_head):
    client.force_login(manager)
    page = client.get("/").content.decode()
    assert 'href="/dashboards/"' in page and "楼盘得分卡" in page
    client.force_login(property_head)
    page = client.get("/").content.decode()
    assert 'href="/dashboards/"' not in page
    assert "/dashboards/ports/property/" in page


# --- Cost ---------------------------------------------------------------------------------------------------------


def test_a_dashboard_page_is_a_handful_of_queries(client, manager, surveys, django_assert_max_num_queries):
    # 3 for session, user and roles; 4 for surveys, projects, targets and fill state; the rest snapshot reads
    # (and the feedback panel's three on the port page).
    build_survey("2024-annual", year=2024, seed=3)
    client.force_login(manager)
    client.get("/dashboards/ports/property/")  # warm the session and the template loader
    for url in (
        "/dashboards/",
        "/dashboards/data.json",
        "/dashboards/ports/property/?stage=run_in&project=SUN",
        "/dashboards/ports/property/data.json",
        "/dashboards/projects/SUN/",
        "/dashboards/projects/SUN/scorecard.xlsx",
    ):
        with django_assert_max_num_queries(20):
            assert client.get(url).status_code == 200, url


def test_the_page_carries_its_json_url_and_no_inline_script(client, manager, surveys):
    client.force_login(manager)
    page = client.get("/dashboards/ports/property/?survey=2026-annual&stage=veteran").content.decode()
    assert 'data-url="/dashboards/ports/property/data.json?survey=2026-annual&amp;stage=veteran"' in page
    assert "<script>" not in page and "style=" not in page and "onclick" not in page
    assert json.loads(json.dumps(client.get("/dashboards/ports/property/data.json").json()))


def test_the_fill_state_is_the_last_finished_run_and_any_pending_one_read_in_one_query(
    surveys, django_assert_num_queries
):
    from satisfaction.selectors import metric_run_state

    first, second = surveys
    blank = survey_create(code="never-computed", name="未计算")
    MetricRun.objects.create(survey=second, requested_at=timezone.now())
    MetricRun.objects.create(survey=first, requested_at=timezone.now(), status=MetricRun.Status.FAILED)
    for survey in (first, second, blank):
        done = [run.finished_at for run in MetricRun.objects.filter(survey=survey) if run.status == MetricRun.Status.DONE]
        with django_assert_num_queries(1):
            state = metric_run_state(survey=survey)
        assert state == {"computed_at": max(done, default=None), "pending": survey == second}
    assert metric_run_state(survey=first)["computed_at"] is not None  # the failed run does not hide the last good one


def test_a_survey_not_yet_computed_shows_empty_panels_and_says_so(client, manager, surveys):
    survey_create(code="2027-annual", name="2027年度满意度调查")
    client.force_login(manager)
    for url in ("/dashboards/?survey=2027-annual", "/dashboards/ports/property/?survey=2027-annual",
                "/dashboards/projects/SUN/?survey=2027-annual"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "尚未计算" in response.content.decode()
    charts = client.get("/dashboards/ports/property/data.json?survey=2027-annual").json()["charts"]
    assert charts["projects"]["categories"] == [] and charts["drivers"]["points"] == []


def _ordering_and_numbers_hold(client, manager, surveys):
    first, second = surveys
    undated = survey_create(code="undated", name="未定日期调查")
    assert [s.code for s in dashboard_selectors.dashboard_surveys()] == ["2025-annual", "2026-annual", "undated"]
    client.force_login(manager)
    html = client.get("/dashboards/ports/property/?survey=2026-annual").content
    assert value_of(body_rows(html, "port-headline")[0]["cells"][1]) == whole(second, "property").satisfaction_rate
    assert [row["attrs"]["data-survey"] for row in body_rows(html, "trend-table")] == ["2025-annual", "2026-annual"]
    assert undated.pk and first.pk


def test_surveys_without_a_start_date_come_last_and_numbers_hold(client, manager, surveys):
    _ordering_and_numbers_hold(client, manager, surveys)


@pytest.mark.integration
def test_surveys_without_a_start_date_come_last_and_numbers_hold_on_postgresql(client, manager, surveys):
    """PostgreSQL sorts NULLs first by default, SQLite last: the order is explicit, so both agree."""
    _ordering_and_numbers_hold(client, manager, surveys)


def test_cached_panels_never_outlive_a_recompute_a_rename_or_a_new_target(client, manager, surveys, monkeypatch):
    _, survey = surveys
    client.force_login(manager)
    url = "/dashboards/ports/property/?survey=2026-annual"
    before = value_of(body_rows(client.get(url).content, "port-headline")[0]["cells"][1])
    assert before == whole(survey, "property").satisfaction_rate

    # Every SUN owner now gives property a 1; the recompute rewrites the snapshots.
    position = list(survey.questions.order_by("position").values_list("code", flat=True)).index("property")
    for response in Response.objects.filter(survey=survey, project__code="SUN"):
        response.answers = response.answers[:position] + "1" + response.answers[position + 1 :]
        response.save(update_fields=["answers"])
    metrics_compute(survey_id=survey.pk)
    after = whole(survey, "property").satisfaction_rate
    assert after < before
    assert value_of(body_rows(client.get(url).content, "port-headline")[0]["cells"][1]) == after
    chart = client.get("/dashboards/ports/property/data.json?survey=2026-annual").json()["charts"]
    assert "阳光花园" in chart["projects"]["categories"]

    # Renamed and targeted the way the product does it (a save: the page cache's data version moves with it).
    sun = Project.objects.get(code="SUN")
    sun.name = "阳光花园（更名）"
    sun.save()
    assert "阳光花园（更名）" in client.get(url).content.decode()

    from improvement_plans.models import ImprovementPlan, PlanStatus

    ImprovementPlan.objects.create(year=2026, port="property", status=PlanStatus.APPROVED, satisfaction_target=0.99)
    line = body_rows(client.get(url).content, "port-headline")[0]
    assert value_of(line["cells"][4]) == 0.99 and line["texts"][5] == "未达标"
