"""Plans all year: running plans take new items and research topics (history, management told), overdue items
flagged and reminded (frozen clock), one click from a dashboard, targets judged only in the plan's year and
series, question codes shown by name, and the working groups' pages."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from departments.models import Department, WorkingGroup
from improvement_plans import services
from improvement_plans.models import ActionItem, GroupDecision, GroupMeeting, ImprovementPlan, ItemKind, ItemStatus
from improvement_plans.selectors import action_items_overdue, item_is_overdue, plan_follow_through
from improvement_plans.tasks import remind_overdue_action_items
from surveys.models import SurveySeries
from surveys.services import survey_create
from tests.conftest import make_user
from tests.test_plan_pages import snapshot

CARE = "customer_care"


@pytest.fixture
def people(property_head, engineering_head, staff, manager, second_manager):
    for user in (property_head, engineering_head, manager, second_manager):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return {
        "property_head": property_head, "engineering_head": engineering_head, "staff": staff,
        "manager": manager, "second_manager": second_manager,
    }


def plan_in(people, status: str, *, year: int = 2027) -> ImprovementPlan:
    plan = services.plan_create(user=people["property_head"], year=year, port="property", satisfaction_target=0.85)
    if status != "draft":
        ImprovementPlan.objects.filter(pk=plan.pk).update(status=status, submitted_by=people["property_head"])
        plan.refresh_from_db()
    return plan


# (plan state, role) → may add an improvement item. Everything else is refused and writes nothing.
MAY_ADD = {
    ("draft", "property_head"),
    ("approved", "property_head"), ("approved", "manager"),
    ("in_progress", "property_head"), ("in_progress", "manager"),
}


@pytest.mark.parametrize("role", ["property_head", "engineering_head", "staff", "manager"])
@pytest.mark.parametrize("state", ["draft", "submitted", "approved", "in_progress", "completed"])
def test_who_may_add_items_in_which_state(people, state, role):
    plan = plan_in(people, state)
    user = people[role]
    if (state, role) in MAY_ADD:
        item = services.action_item_create(plan=plan, user=user, title="新增", measure_category=CARE)
        assert item.plan == plan
    else:
        with pytest.raises((PermissionDenied, ValidationError)):
            services.action_item_create(plan=plan, user=user, title="新增", measure_category=CARE)
        assert ActionItem.objects.count() == 0


def test_management_adds_a_research_topic_to_an_approved_plan_with_history_and_a_notice(
    people, django_capture_on_commit_callbacks
):
    plan = plan_in(people, "approved")
    version = plan.version
    with django_capture_on_commit_callbacks(execute=True):
        topic = services.action_item_create(
            plan=plan, user=people["manager"], kind=ItemKind.RESEARCH, title="车位紧张原因", measure_category=CARE
        )
    plan.refresh_from_db()
    assert plan.version == version + 1
    assert plan.history.first().history_change_reason == "执行期间新增研究课题：车位紧张原因"
    assert topic.history.first().history_change_reason == "计划已批准期间新增"
    assert topic.history.first().history_user == people["manager"]
    # Management is told, but not the manager who added it.
    assert [message.to for message in mail.outbox] == [["manager2@example.com"]]
    assert "车位紧张原因" in mail.outbox[0].body and "新增研究课题" in mail.outbox[0].subject


def test_a_running_plan_takes_no_new_pilot(people):
    plan = plan_in(people, "in_progress")
    with pytest.raises(ValidationError, match="流程试点须在草稿阶段"):
        services.action_item_create(
            plan=plan, user=people["manager"], kind=ItemKind.PILOT, title="试点", measure_category=CARE,
            pilot_scope="一期", new_process="新", cost_analysis="低",
        )


# ---- overdue ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("due_on", "status", "plan_status", "overdue"),
    [
        (date(2027, 5, 31), ItemStatus.IN_PROGRESS, "approved", True),  # due yesterday
        (date(2027, 6, 1), ItemStatus.IN_PROGRESS, "approved", False),  # due today: not yet
        (date(2027, 5, 1), ItemStatus.NOT_STARTED, "in_progress", True),
        (date(2027, 5, 1), ItemStatus.DONE, "in_progress", False),
        (date(2027, 5, 1), ItemStatus.DROPPED, "approved", False),
        (date(2027, 5, 1), ItemStatus.NOT_STARTED, "draft", False),  # a draft's dates are proposals
        (None, ItemStatus.NOT_STARTED, "approved", False),
    ],
)
def test_an_item_is_overdue_only_past_its_date_open_and_in_a_running_plan(people, due_on, status, plan_status, overdue):
    plan = plan_in(people, "draft")
    item = services.action_item_create(plan=plan, user=people["property_head"], title="项", measure_category=CARE, due_on=due_on)
    ActionItem.objects.filter(pk=item.pk).update(status=status)
    ImprovementPlan.objects.filter(pk=plan.pk).update(status=plan_status)
    item = ActionItem.objects.select_related("plan").get(pk=item.pk)
    today = date(2027, 6, 1)
    assert item_is_overdue(item, today=today) is overdue
    assert (item in action_items_overdue(today=today)) is overdue


def test_the_daily_task_reminds_the_owner_once_a_week_on_a_frozen_clock(people, monkeypatch, django_capture_on_commit_callbacks):
    plan = plan_in(people, "draft")
    engineering = Department.objects.get(code="engineering")
    late = services.action_item_create(
        plan=plan, user=people["property_head"], title="外墙渗漏整改", measure_category=CARE,
        responsible_department=engineering, due_on=date(2027, 5, 31),
    )
    own = services.action_item_create(
        plan=plan, user=people["property_head"], title="保洁排班", measure_category=CARE, due_on=date(2027, 6, 15)
    )
    ImprovementPlan.objects.filter(pk=plan.pk).update(status="approved")
    clock = {"today": date(2027, 6, 1)}
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: clock["today"])

    def run() -> int:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            return remind_overdue_action_items()

    assert run() == 1
    assert [m.to for m in mail.outbox] == [["engineering_head@example.com"]]  # the responsible department's head
    assert "外墙渗漏整改" in mail.outbox[0].subject and "已逾期 1 天" in mail.outbox[0].body
    late.refresh_from_db()
    assert late.overdue_reminded_on == date(2027, 6, 1)
    clock["today"] = date(2027, 6, 7)  # six days later: not again yet
    assert run() == 0 and mail.outbox == []
    clock["today"] = date(2027, 6, 16)  # a week on; the second item is overdue too, owned by the plan's drafter
    assert run() == 2
    assert sorted(m.to[0] for m in mail.outbox) == ["engineering_head@example.com", "property_head@example.com"]
    own.refresh_from_db()
    assert own.overdue_reminded_on == date(2027, 6, 16)


def test_the_plan_page_flags_an_overdue_item(client, people):
    plan = plan_in(people, "draft")
    services.action_item_create(
        plan=plan, user=people["property_head"], title="早已到期", measure_category=CARE,
        due_on=timezone.localdate() - timedelta(days=3),
    )
    services.action_item_create(
        plan=plan, user=people["property_head"], title="还没到期", measure_category=CARE,
        due_on=timezone.localdate() + timedelta(days=3),
    )
    client.force_login(people["property_head"])
    url = reverse("plans:plan_detail", args=[plan.pk])
    assert "item-overdue" not in client.get(url).content.decode()  # a draft is not late
    ImprovementPlan.objects.filter(pk=plan.pk).update(status="approved")
    html = client.get(url).content.decode()
    assert html.count('class="badge text-bg-danger item-overdue"') == 1
    assert html.index("item-overdue") > html.index("早已到期") and html.index("item-overdue") < html.index("还没到期")


# ---- targets only in the plan's year and series ---------------------------------------------------------------

def test_targets_are_judged_only_by_surveys_of_the_plans_year_and_series(people):
    last_year = survey_create(code="2026-annual", name="2026 年度", starts_on=date(2026, 9, 1))
    snapshot(last_year, "property", 100, 200)  # 50 %: far below the target
    plan = services.plan_create(user=people["property_head"], year=2027, port="property", satisfaction_target=0.85)
    follow = plan_follow_through(plan=plan)
    assert follow.satisfaction == [] and follow.outside_year  # 2027 has not been surveyed: no 未达成
    series, _ = SurveySeries.objects.get_or_create(code="repair", defaults={"name": "报修触点"})
    touchpoint = survey_create(code="2027-repair", name="2027 报修", starts_on=date(2027, 3, 1), series=series.code, source="touchpoint")
    snapshot(touchpoint, "property", 20, 200)
    assert plan_follow_through(plan=plan).satisfaction == []  # another series of the same year does not count
    same = survey_create(code="2027-annual", name="2027 年度", starts_on=date(2027, 9, 1))
    snapshot(same, "property", 190, 200)
    follow = plan_follow_through(plan=plan)
    assert [a.survey for a in follow.satisfaction] == [same] and follow.latest_satisfaction.status == "met"


def test_the_plan_page_says_nothing_is_judged_before_the_year_is_surveyed(client, people):
    last_year = survey_create(code="2026-annual", name="2026 年度", starts_on=date(2026, 9, 1))
    snapshot(last_year, "property", 100, 200)
    plan = services.plan_create(user=people["property_head"], year=2027, port="property", satisfaction_target=0.85)
    client.force_login(people["property_head"])
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    assert "target-missed" not in html and "目标暂不评判" in html
    assert html.split('id="target-satisfaction"')[1].split("</tr>")[0].count("—") >= 3


# ---- one click from a dashboard, names not codes ----------------------------------------------------------------

def test_an_item_started_on_an_approved_plan_from_a_dashboard_shows_the_items_name(client, people):
    from tests.test_plan_pages import small_survey

    survey = small_survey()
    plan = plan_in(people, "approved")
    client.force_login(people["manager"])
    url = reverse("plans:action_item_new") + f"?port=property&item=property_cleaning&survey={survey.code}"
    page = client.get(url).content.decode()
    assert "保洁服务" in page and "property_cleaning" not in page.split("<form")[0]
    response = client.post(url, {"plan": plan.pk, "kind": "improvement", "title": "提升保洁", "measure_category": CARE})
    assert response.status_code == 302
    item = ActionItem.objects.get()
    assert (item.plan, item.question_code, item.source_survey) == (plan, "property_cleaning", survey)
    html = client.get(reverse("plans:plan_detail", args=[plan.pk])).content.decode()
    detail = client.get(reverse("plans:action_item_detail", args=[item.pk])).content.decode()
    for text in (html, detail):
        assert "保洁服务" in text and "property_cleaning" not in text


def test_the_port_dashboard_offers_one_click_action_items(client, people):
    from tests.test_plan_pages import small_survey

    survey = small_survey()
    client.force_login(people["property_head"])
    html = client.get(reverse("dashboards:port", args=["property"]), {"survey": survey.code}).content.decode()
    assert f"/plans/action-items/new/?port=property&amp;item=property_cleaning&amp;survey={survey.code}" in html


# ---- working groups --------------------------------------------------------------------------------------------

def test_staff_and_management_keep_working_groups_and_others_read(client, people):
    client.force_login(people["staff"])
    bad = client.post(reverse("plans:group_new"), {"name": "电梯专项小组", "kind": "task_force", "purpose": "解决电梯故障"})
    assert bad.status_code == 400 and "阶段性提升小组须填写开始和结束日期" in bad.content.decode()
    assert 'value="电梯专项小组"' in bad.content.decode()
    backwards = client.post(reverse("plans:group_new"), {
        "name": "电梯专项小组", "kind": "task_force", "starts_on": "2027-06-30", "ends_on": "2027-01-01",
    })
    assert "结束日期不能早于开始日期" in backwards.content.decode()
    created = client.post(reverse("plans:group_new"), {
        "name": "电梯专项小组", "kind": "task_force", "purpose": "解决电梯故障", "starts_on": "2027-01-01",
        "ends_on": "2027-06-30", "members": [people["property_head"].pk, people["engineering_head"].pk],
    })
    assert created.status_code == 302
    group = WorkingGroup.objects.get(name="电梯专项小组")
    assert set(group.members.all()) == {people["property_head"], people["engineering_head"]}

    plan = plan_in(people, "approved")
    item = services.action_item_create(
        plan=plan, user=people["manager"], title="电梯维保合同复核", measure_category=CARE, working_group=group
    )
    client.force_login(people["manager"])
    meeting_url = reverse("plans:group_meeting_add", args=[group.pk])
    assert "请填写议题" in client.post(meeting_url, {"held_on": "2027-02-01"}).content.decode()
    assert client.post(meeting_url, {"held_on": "2027-02-01", "title": "启动会", "attendees": "张三、李四"}).status_code == 302
    meeting = GroupMeeting.objects.get()
    decision_url = reverse("plans:group_decision_add", args=[meeting.pk])
    prefix = f"m{meeting.pk}"
    assert client.post(decision_url, {f"{prefix}-text": "每月通报电梯故障率", f"{prefix}-responsible": "张三"}).status_code == 302
    assert GroupDecision.objects.get().meeting == meeting

    reader = make_user("reader", groups=["committee"])
    client.force_login(people["property_head"])
    page = client.get(reverse("plans:group_detail", args=[group.pk])).content.decode()
    assert "电梯维保合同复核" in page and "每月通报电梯故障率" in page and "启动会" in page
    assert 'id="meeting-form"' not in page and 'id="group-edit"' not in page
    assert client.post(meeting_url, {"held_on": "2027-03-01", "title": "越权"}).status_code == 403
    client.force_login(reader)
    assert client.get(reverse("plans:group_edit", args=[group.pk])).status_code == 403
    assert client.get(reverse("plans:group_list")).status_code == 200
    assert item.working_group == group


def test_dashboard_targets_come_only_from_plans_judged_in_the_waves_series(people):
    from dashboards.selectors import dashboard_targets

    annual = survey_create(code="2027-annual", name="2027 年度", starts_on=date(2027, 9, 1))
    snapshot(annual, "property", 190, 200)
    plan = services.plan_create(user=people["property_head"], year=2027, port="property", satisfaction_target=0.85)
    ImprovementPlan.objects.filter(pk=plan.pk).update(status="approved")
    series, _ = SurveySeries.objects.get_or_create(code="repair", defaults={"name": "报修触点"})
    repair = survey_create(code="2027-repair", name="2027 报修", starts_on=date(2027, 3, 1), series=series.code, source="touchpoint")
    assert dashboard_targets(survey=annual)["ports"]["property"] == 0.85
    assert dashboard_targets(survey=repair)["ports"]["property"] is None


def test_the_beat_runs_the_overdue_reminder_daily(settings):
    from celery import current_app

    entry = settings.CELERY_BEAT_SCHEDULE["remind-overdue-action-items"]
    assert entry["schedule"] == timedelta(hours=24)
    assert entry["task"] == remind_overdue_action_items.name
    assert entry["task"] in current_app.tasks
