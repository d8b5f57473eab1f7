"""Plan pages and the numbers on them: baselines from snapshots, target vs. actual, dashboard prefill, scope."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone
from statsmodels.stats.proportion import proportion_confint

from improvement_plans import services
from improvement_plans.models import ActionItem, ImprovementPlan, ItemKind, MeasureCategory, PlanStatus
from improvement_plans.selectors import plan_follow_through
from owners.models import Owner, Project
from satisfaction.models import MetricSnapshot
from satisfaction.services import metrics_compute
from surveys.models import Survey
from surveys.services import response_submit, survey_create

# (overall, repurchase, recommend, property, property_cleaning) per questionnaire.
ANSWERS = [
    (5, 5, 5, 4, 2), (4, 4, 4, 5, 3), (3, 4, 5, 2, 1), (5, 3, 4, 4, 4), (2, 2, 1, 3, 2),
    (4, 5, 4, 5, 5), (5, 5, 5, 1, 2), (4, 4, 3, 4, None), (1, 2, 2, 2, 1), (5, 4, 4, 4, 4),
]


def small_survey(code: str = "2026-annual", starts_on: date = date(2026, 9, 1), answers=ANSWERS):
    survey = survey_create(code=code, name=f"{code} 满意度调查", starts_on=starts_on)
    project, _ = Project.objects.get_or_create(code="P01", defaults={"name": "滨江花园"})
    for i, (overall, repurchase, recommend, prop, cleaning) in enumerate(answers):
        owner, _ = Owner.objects.get_or_create(project=project, unit=f"1-{i + 1:02d}", name=f"业主{i}")
        response_submit(
            survey=survey, owner=owner, questionnaire_no=f"{code}-{i}", surveyed_on=starts_on,
            scores={"overall": overall, "repurchase": repurchase, "recommend": recommend,
                    "property": prop, "property_cleaning": cleaning},
        )
    metrics_compute(survey_id=survey.pk)
    return survey


def snapshot(survey, port: str, satisfied: int, n: int, *, loyal: int | None = None, loyalty_base: int | None = None):
    """A whole-survey snapshot row with its Wilson interval, written directly."""
    low, high = proportion_confint(satisfied, n, method="wilson")
    row = dict(
        survey=survey, port=port, project=None, stage="", n=n, satisfied=satisfied,
        satisfaction_rate=satisfied / n, satisfaction_ci_low=low, satisfaction_ci_high=high, computed_at=timezone.now(),
    )
    if loyal is not None:
        l_low, l_high = proportion_confint(loyal, loyalty_base, method="wilson")
        row |= dict(loyal=loyal, loyalty_base=loyalty_base, loyalty_rate=loyal / loyalty_base,
                    loyalty_ci_low=l_low, loyalty_ci_high=l_high)
    return MetricSnapshot.objects.create(**row)


def login(client, user):
    client.force_login(user)
    return client


# ---- baselines and follow-through -------------------------------------------------------------------------

def test_a_new_plan_takes_its_baseline_from_the_latest_survey(staff, property_head):
    small_survey("2025-annual", date(2025, 9, 1), answers=ANSWERS[:5])
    latest = small_survey("2026-annual", date(2026, 9, 1))
    plan = services.plan_create(user=property_head, year=2027, port="property", satisfaction_target=0.8)
    # Independent count: property answers 4 or 5 over answers given.
    given = [a[3] for a in ANSWERS if a[3] is not None]
    satisfied = sum(score >= 4 for score in given)
    low, high = proportion_confint(satisfied, len(given), method="wilson")
    assert plan.baseline_survey == latest
    assert plan.baseline_n == len(given)
    assert plan.baseline_satisfaction_rate == pytest.approx(satisfied / len(given))
    assert (plan.baseline_satisfaction_ci_low, plan.baseline_satisfaction_ci_high) == (pytest.approx(low), pytest.approx(high))
    assert plan.baseline_loyalty_rate is None

    company = services.plan_create(user=staff, year=2027, port="")
    loyal = sum(all(score >= 4 for score in a[:3]) for a in ANSWERS)
    assert company.baseline_satisfaction_rate == pytest.approx(sum(a[0] >= 4 for a in ANSWERS) / len(ANSWERS))
    assert company.baseline_loyalty_rate == pytest.approx(loyal / len(ANSWERS))
    assert company.baseline_loyalty_base == len(ANSWERS)


def test_a_plan_without_any_survey_has_no_baseline(property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    assert plan.baseline_survey is None and plan.baseline_satisfaction_rate is None
    assert plan_follow_through(plan=plan).latest_satisfaction is None


@pytest.mark.parametrize(
    "satisfied, n, target, status",
    [
        (180, 200, 0.80, "met"),  # interval 85.1–93.1 % above 80 %
        (140, 200, 0.80, "missed"),  # interval 63.3–76.2 % below 80 %
        (162, 200, 0.80, "undetermined"),  # interval 75.0–85.8 % straddles 80 %
        (20, 25, 0.50, "met"),  # few answers, still a judgement on the interval
    ],
)
def test_follow_through_judges_the_target_on_the_whole_interval(property_head, satisfied, n, target, status):
    survey = survey_create(code="2027-h1", name="2027 上半年", starts_on=date(2027, 3, 1))
    snapshot(survey, "property", satisfied, n)
    plan = services.plan_create(user=property_head, year=2027, port="property", satisfaction_target=target)
    actual = plan_follow_through(plan=plan).latest_satisfaction
    low, high = proportion_confint(satisfied, n, method="wilson")
    expected = "met" if low > target else "missed" if high < target else "undetermined"
    assert actual.status == expected == status
    assert actual.rate == pytest.approx(satisfied / n)
    assert actual.too_few == (n < 30)


def test_follow_through_uses_the_plan_years_surveys_oldest_first(staff):
    before = survey_create(code="2026-annual", name="2026 年度", starts_on=date(2026, 9, 1))
    first = survey_create(code="2027-h1", name="2027 上半年", starts_on=date(2027, 3, 1))
    second = survey_create(code="2027-h2", name="2027 下半年", starts_on=date(2027, 9, 1))
    snapshot(before, "", 150, 200, loyal=100, loyalty_base=200)
    plan = services.plan_create(user=staff, year=2027, port="", satisfaction_target=0.8, loyalty_target=0.5)
    follow = plan_follow_through(plan=plan)
    # Only the plan year's surveys judge its targets: the year before is no "未达成" for this one.
    assert follow.outside_year and follow.latest_satisfaction is None and follow.satisfaction == []
    snapshot(second, "", 180, 200, loyal=140, loyalty_base=198)
    snapshot(first, "", 160, 200, loyal=120, loyalty_base=199)
    follow = plan_follow_through(plan=plan)
    assert not follow.outside_year
    assert [a.survey for a in follow.satisfaction] == [first, second]
    assert follow.latest_loyalty.rate == pytest.approx(140 / 198) and follow.latest_loyalty.status == "met"
    assert follow.latest_satisfaction.status == "met"


# ---- pages --------------------------------------------------------------------------------------------------

def test_the_plan_page_shows_target_actual_and_the_judgement(client, property_head):
    survey = survey_create(code="2027-h1", name="2027 上半年", starts_on=date(2027, 3, 1))
    snapshot(survey, "property", 140, 200)
    plan = services.plan_create(
        user=property_head, year=2027, port="property", satisfaction_target=0.8, feedback_summary="报修回访 120 户"
    )
    html = login(client, property_head).get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "80.0%" in html and "70.0%" in html and "未达成" in html
    assert "一线反馈活动总结与评价" in html and "报修回访 120 户" in html
    assert "提交审批" in html


def test_a_head_cannot_open_another_departments_plan(client, property_head, engineering_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    login(client, engineering_head)
    assert client.get(reverse("plans:plan_detail", args=[plan.pk])).status_code == 404
    assert client.post(reverse("plans:plan_transition", args=[plan.pk, "submit"])).status_code == 404
    listing = client.get(reverse("plans:plan_list") + "?year=2027").content.decode()
    assert reverse("plans:plan_detail", args=[plan.pk]) not in listing
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT


def test_a_head_cannot_post_an_action_item_into_another_departments_plan(client, property_head, engineering_head):
    other = services.plan_create(user=property_head, year=2027, port="property")
    services.plan_create(user=engineering_head, year=2027, port="engineering")
    login(client, engineering_head)
    response = client.post(
        reverse("plans:action_item_new"),
        {"plan": other.pk, "kind": "improvement", "title": "越权", "measure_category": "customer_care"},
    )
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    assert not ActionItem.objects.exists()


def test_a_plan_is_created_from_the_form_with_targets_in_percent(client, property_head):
    login(client, property_head)
    form = client.get(reverse("plans:plan_new") + "?year=2027&port=property").content.decode()
    assert "物业管理" in form and "公司总体" not in form
    response = client.post(
        reverse("plans:plan_new"),
        {"year": 2027, "port": "property", "satisfaction_target": "86.5", "directions": "保洁与绿化"},
    )
    plan = ImprovementPlan.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("plans:plan_detail", args=[plan.pk])
    assert plan.satisfaction_target == pytest.approx(0.865)
    again = client.post(reverse("plans:plan_new"), {"year": 2027, "port": "property", "directions": "再来一次"})
    assert "已存在" in again.content.decode() and "再来一次" in again.content.decode()


def test_a_stale_edit_form_shows_a_conflict_and_keeps_what_was_typed(client, property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property", satisfaction_target=0.8)
    login(client, property_head)
    url = reverse("plans:plan_edit", args=[plan.pk])
    first = {"satisfaction_target": "85", "directions": "第一个窗口", "feedback_summary": "", "version": plan.version}
    second = {"satisfaction_target": "90", "directions": "第二个窗口", "feedback_summary": "", "version": plan.version}
    assert client.post(url, first).status_code == 302
    response = client.post(url, second)
    html = response.content.decode()
    assert response.status_code == 200
    assert "已被他人修改" in html and "第二个窗口" in html
    plan.refresh_from_db()
    assert plan.directions == "第一个窗口" and plan.satisfaction_target == pytest.approx(0.85)


def test_returning_without_a_comment_is_refused_with_a_message(client, property_head, manager):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    services.plan_submit(plan=plan, user=property_head)
    login(client, manager)
    response = client.post(reverse("plans:plan_transition", args=[plan.pk, "return"]), {"comment": ""}, follow=True)
    assert "退回时请填写意见" in response.content.decode()
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED
    response = client.post(
        reverse("plans:plan_transition", args=[plan.pk, "return"]), {"comment": "目标太低"}, follow=True
    )
    html = response.content.decode()
    assert "计划被退回修改" in html and "目标太低" in html


def test_an_action_item_started_from_a_dashboard_carries_the_questions_numbers(client, property_head):
    survey = small_survey()
    plan = services.plan_create(user=property_head, year=2027, port="property")
    login(client, property_head)
    url = reverse("plans:action_item_new") + f"?port=property&item=property_cleaning&survey={survey.code}"
    given = [a[4] for a in ANSWERS if a[4] is not None]
    rate = sum(score >= 4 for score in given) / len(given)
    page = client.get(url).content.decode()
    assert f"{rate * 100:.1f}%" in page and "保洁服务" in page
    response = client.post(url, {"plan": plan.pk, "kind": "improvement", "title": "提升保洁",
                                 "measure_category": "frontline_quality"})
    assert response.status_code == 302
    item = ActionItem.objects.get()
    pairs = [(a[4], a[3]) for a in ANSWERS if a[4] is not None and a[3] is not None]
    import numpy as np

    expected_r = np.corrcoef([p[0] for p in pairs], [p[1] for p in pairs])[0, 1]
    assert (item.question_code, item.source_survey, item.question_n) == ("property_cleaning", survey, len(given))
    assert item.question_rate == pytest.approx(rate)
    assert item.question_importance == pytest.approx(expected_r)


def test_a_dashboard_link_to_a_port_the_head_cannot_see_carries_no_numbers(client, engineering_head):
    survey = small_survey()
    services.plan_create(user=engineering_head, year=2027, port="engineering")
    login(client, engineering_head)
    url = reverse("plans:action_item_new") + f"?port=property&item=property_cleaning&survey={survey.code}"
    response = client.get(url, follow=True)
    html = response.content.decode()
    assert "无权查看该端口" in html or "没有可添加行动项的计划" in html
    assert "保洁服务" not in html


def test_progress_is_recorded_on_an_approved_plan_and_shown_on_its_page(client, property_head, manager):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    item = services.action_item_create(
        plan=plan, user=property_head, title="绿化补种", measure_category=MeasureCategory.FRONTLINE_QUALITY
    )
    services.plan_submit(plan=plan, user=property_head)
    services.plan_approve(plan=plan, user=manager)
    login(client, property_head)
    response = client.post(
        reverse("plans:action_item_progress", args=[item.pk]), {"text": "完成东区", "percent": 55, "status": "in_progress"}
    )
    assert response.status_code == 302
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "55%" in html and "进行中" in html
    bad = client.post(reverse("plans:action_item_progress", args=[item.pk]), {"text": "超了", "percent": 150, "status": "done"})
    assert bad.status_code == 200 and "超了" in bad.content.decode()


def test_a_pilot_shows_the_no_promise_warning_until_adopted(client, property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    pilot = services.action_item_create(
        plan=plan, user=property_head, kind=ItemKind.PILOT, title="管家制试点", measure_category=MeasureCategory.PROCESS_STANDARDS,
        pilot_scope="二期", new_process="一户一管家", cost_analysis="人力成本 +5%",
    )
    login(client, property_head)
    assert "新流程未确认前不得对业主承诺" in client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    services.action_item_pilot_record(
        item=pilot, user=property_head, comparison_kind="pilot_vs_rest", pilot_satisfied=45, pilot_n=50,
        comparison_satisfied=300, comparison_n=400, outcome="company_standard", outcome_reference="GS-01",
    )
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "新流程未确认前不得对业主承诺" not in html and "GS-01" in html and "90.0%" in html and "75.0%" in html


def test_the_list_shows_management_what_awaits_review_and_which_ports_have_no_plan(client, property_head, manager):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    services.plan_submit(plan=plan, user=property_head)
    html = login(client, manager).get(reverse("plans:plan_list") + "?year=2027").content.decode()
    assert "待我审批" in html and reverse("plans:plan_detail", args=[plan.pk]) in html
    assert html.count("未起草") == 5  # the company plan and four ports

    head_html = login(client, property_head).get(reverse("plans:plan_list") + "?year=2027").content.decode()
    assert "待我审批" not in head_html and "未起草" not in head_html and "规划设计" not in head_html


def test_an_item_is_edited_only_while_its_plan_is_a_draft(client, property_head, manager):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    topic = services.action_item_create(
        plan=plan, user=property_head, kind=ItemKind.RESEARCH, title="绿化满意度低的原因",
        measure_category=MeasureCategory.FRONTLINE_QUALITY,
    )
    login(client, property_head)
    url = reverse("plans:action_item_edit", args=[topic.pk])
    form = {"kind": "research", "title": "绿化与养护满意度低的原因", "measure_category": "frontline_quality"}
    assert client.post(url, form).status_code == 302
    services.plan_submit(plan=plan, user=property_head)
    assert client.get(url).status_code == 403
    assert client.post(url, form | {"title": "提交后改名"}).status_code == 403
    services.plan_approve(plan=plan, user=manager)
    client.post(reverse("plans:action_item_promote", args=[topic.pk]))
    topic.refresh_from_db()
    assert (topic.title, topic.kind) == ("绿化与养护满意度低的原因", ItemKind.IMPROVEMENT)
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "由研究课题转入" in html


def test_the_admin_pages_of_plans_open_in_chinese(admin_client, property_head):
    plan = services.plan_create(user=property_head, year=2027, port="property")
    item = services.action_item_create(
        plan=plan, user=property_head, title="保洁", measure_category=MeasureCategory.FRONTLINE_QUALITY
    )
    for url in (
        reverse("admin:improvement_plans_improvementplan_changelist"),
        reverse("admin:improvement_plans_improvementplan_change", args=[plan.pk]),
        reverse("admin:improvement_plans_improvementplan_history", args=[plan.pk]),
        reverse("admin:improvement_plans_actionitem_change", args=[item.pk]),
        reverse("admin:improvement_plans_plantransition_changelist"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "提升计划" in admin_client.get(reverse("admin:index")).content.decode()


def test_the_demo_plans_load_in_four_workflow_states(db):
    from demo.plans import DEMO_DRAFTERS, demo_plans_seed
    from tests.conftest import make_user

    roles = {"staff": (["brand_service"], "brand_service"), "mgmt": (["management"], None),
             "head_property": (["department_head"], "property"), "head_engineering": (["department_head"], "engineering"),
             "head_marketing": (["department_head"], "marketing")}
    for username in DEMO_DRAFTERS:
        groups, department = roles[username]
        make_user(username, groups=groups, department=department, head=department not in (None, "brand_service"))
    assert demo_plans_seed() == 0  # no surveys yet
    small_survey("2025-annual", date(2025, 9, 1), answers=ANSWERS[:6])
    # The group's third-party sample comes between them in time; it is another series, so never the baseline.
    survey_create(code="2026-group", name="集团2026年度第三方满意度调查", source="group", starts_on=date(2026, 3, 1))
    small_survey("2026-annual", date(2026, 9, 1))
    assert demo_plans_seed() == 4
    statuses = dict(ImprovementPlan.objects.filter(year=2026).values_list("port", "status"))
    assert statuses == {"": "in_progress", "property": "in_progress", "engineering": "draft", "sales": "submitted"}
    assert ImprovementPlan.objects.get(port="property").baseline_survey.code == "2025-annual"
    from dashboards.selectors import dashboard_targets

    # So the company wave of the plans' year is judged against their targets, and the group's wave is not.
    assert dashboard_targets(survey=Survey.objects.get(code="2026-annual"))["company"]["satisfaction"] is not None
    assert dashboard_targets(survey=Survey.objects.get(code="2026-group"))["company"]["satisfaction"] is None
    assert demo_plans_seed() == 0  # never twice
