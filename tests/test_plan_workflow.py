"""The plan workflow: every state × action × role, history, concurrency, e-mail, promotion, targets and scope."""

from datetime import date

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from departments.models import WorkingGroup
from improvement_plans import services
from improvement_plans.models import (
    ActionItem,
    ImprovementPlan,
    ItemKind,
    ItemStatus,
    MeasureCategory,
    PlanAction,
    PlanStatus,
    PlanTransition,
)
from improvement_plans.selectors import plan_available_actions, plan_targets, plans_visible_to
from tests.conftest import make_user

STATES = list(PlanStatus.values)
ACTIONS = ["submit", "approve", "return", "start", "complete"]
ROLES = ["property_head", "engineering_head", "brand_head", "staff", "manager", "committee_member"]

# (state, action, role) → the state it leads to. Everything else is refused.
ALLOWED = {
    ("draft", "submit", "property_head"): "submitted",
    ("submitted", "approve", "manager"): "approved",
    ("submitted", "return", "manager"): "draft",
    ("approved", "start", "property_head"): "in_progress",
    ("approved", "start", "manager"): "in_progress",
    ("in_progress", "complete", "property_head"): "completed",
    ("in_progress", "complete", "manager"): "completed",
}


@pytest.fixture
def brand_head(db):
    """The head of 品牌客服部: coordinates and monitors every port, owns the customer-service port."""
    return make_user("brand_head", groups=["department_head"], department="brand_service", head=True)


@pytest.fixture
def people(property_head, engineering_head, brand_head, staff, manager, committee_member):
    for user in (property_head, manager):
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return {
        "property_head": property_head,
        "engineering_head": engineering_head,
        "brand_head": brand_head,
        "staff": staff,
        "manager": manager,
        "committee_member": committee_member,
    }


def property_plan(people, status: str = "draft") -> ImprovementPlan:
    plan = services.plan_create(user=people["property_head"], year=2027, port="property", satisfaction_target=0.85)
    if status != "draft":
        ImprovementPlan.objects.filter(pk=plan.pk).update(status=status, submitted_by=people["property_head"])
        plan.refresh_from_db()
    return plan


def run(action: str, plan, user):
    kwargs = {"plan": plan, "user": user}
    if action == "return":
        kwargs["comment"] = "请补充保洁外包的考核标准"
    return services.TRANSITIONS[action](**kwargs)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_each_transition_is_allowed_only_in_its_state_for_its_roles(people, state, action, role):
    plan = property_plan(people, state)
    user = people[role]
    transitions_before = PlanTransition.objects.filter(plan=plan).count()
    expected = ALLOWED.get((state, action, role))

    assert (action in plan_available_actions(user=user, plan=plan)) == (expected is not None)
    if expected is not None:
        run(action, plan, user)
        plan.refresh_from_db()
        assert plan.status == expected
        last = PlanTransition.objects.filter(plan=plan).order_by("-id").first()
        assert (last.action, last.from_status, last.to_status, last.by) == (action, state, expected, user)
    else:
        with pytest.raises((PermissionDenied, ValidationError)) as refused:
            run(action, plan, user)
        message = refused.value.messages if isinstance(refused.value, ValidationError) else [str(refused.value)]
        assert all(has_chinese(m) for m in message), message
        plan.refresh_from_db()
        assert plan.status == state
        assert PlanTransition.objects.filter(plan=plan).count() == transitions_before


def test_nobody_approves_a_plan_they_submitted(db, second_manager):
    # A manager who also heads the property company drafts and submits; they may not approve it.
    both = make_user("head_and_manager", groups=["department_head", "management"], department="property", head=True)
    plan = services.plan_create(user=both, year=2027, port="property")
    services.plan_submit(plan=plan, user=both)
    assert "approve" not in plan_available_actions(user=both, plan=plan)
    for act in (services.plan_approve, services.plan_return):
        with pytest.raises(PermissionDenied, match="不能审批自己提交的计划"):
            act(plan=plan, user=both, comment="自己审批")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED
    services.plan_approve(plan=plan, user=second_manager)
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED


def test_a_return_needs_a_comment_and_goes_back_to_draft(people):
    plan = property_plan(people, "submitted")
    with pytest.raises(ValidationError, match="请填写意见"):
        services.plan_return(plan=plan, user=people["manager"], comment="  ")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.SUBMITTED
    services.plan_return(plan=plan, user=people["manager"], comment="目标偏低")
    plan.refresh_from_db()
    assert plan.status == PlanStatus.DRAFT
    assert plan.transitions.order_by("-id").first().comment == "目标偏低"


def test_the_company_plan_is_drafted_by_brand_service_and_not_by_a_port_head(people):
    with pytest.raises(PermissionDenied):
        services.plan_create(user=people["property_head"], year=2027, port="")
    plan = services.plan_create(user=people["staff"], year=2027, port="", satisfaction_target=0.8, loyalty_target=0.6)
    services.plan_submit(plan=plan, user=people["staff"])
    services.plan_approve(plan=plan, user=people["manager"])
    plan.refresh_from_db()
    assert plan.status == PlanStatus.APPROVED
    # The head of 品牌客服部 may draft the company plan too.
    assert services.plan_create(user=people["brand_head"], year=2028, port="").port == ""


def test_one_plan_per_year_and_port(people):
    property_plan(people)
    with pytest.raises(ValidationError, match="已存在"):
        services.plan_create(user=people["property_head"], year=2027, port="property")


def test_a_loyalty_target_belongs_to_the_company_plan_only(people):
    with pytest.raises(ValidationError, match="忠诚度目标只在公司总体计划"):
        services.plan_create(user=people["property_head"], year=2027, port="property", loyalty_target=0.6)
    with pytest.raises(ValidationError, match="0% 到 100%"):
        services.plan_create(user=people["property_head"], year=2027, port="property", satisfaction_target=85)


# ---- editing, concurrency, history --------------------------------------------------------------------------

def test_a_stale_edit_is_refused_and_overwrites_nothing(people):
    plan = property_plan(people)
    loaded_version = plan.version
    services.plan_update(plan=plan, user=people["property_head"], version=loaded_version, directions="先改保洁")
    with pytest.raises(ValidationError) as conflict:
        services.plan_update(plan=plan, user=people["property_head"], version=loaded_version, directions="旧窗口的内容")
    assert conflict.value.code == "conflict"
    assert "已被他人修改" in conflict.value.messages[0]
    plan.refresh_from_db()
    assert plan.directions == "先改保洁"
    assert plan.version == loaded_version + 1


def test_adding_an_action_item_makes_an_open_edit_form_stale(people):
    plan = property_plan(people)
    loaded_version = plan.version
    services.action_item_create(
        plan=plan, user=people["property_head"], title="保洁频次", measure_category=MeasureCategory.FRONTLINE_QUALITY
    )
    with pytest.raises(ValidationError):
        services.plan_update(plan=plan, user=people["property_head"], version=loaded_version, directions="x")


def test_edits_and_transitions_leave_history_rows(people):
    plan = property_plan(people)
    services.plan_update(plan=plan, user=people["property_head"], version=plan.version, satisfaction_target=0.9)
    services.plan_submit(plan=plan, user=people["property_head"])
    services.plan_return(plan=plan, user=people["manager"], comment="请细化")
    history = list(plan.history.order_by("history_date", "history_id"))
    assert [h.history_change_reason for h in history] == ["起草", "修改", "提交审批", "退回修改"]
    assert [h.status for h in history] == ["draft", "draft", "submitted", "draft"]
    assert history[1].satisfaction_target == pytest.approx(0.9)
    assert history[0].satisfaction_target == pytest.approx(0.85)
    assert [h.history_user for h in history] == [people["property_head"]] * 3 + [people["manager"]]
    assert list(plan.transitions.order_by("id").values_list("action", flat=True)) == [
        PlanAction.CREATE, PlanAction.SUBMIT, PlanAction.RETURN
    ]


def test_an_approved_plan_is_read_only_except_progress_and_new_items(people):
    plan = property_plan(people)
    item = services.action_item_create(
        plan=plan, user=people["property_head"], title="保洁频次", measure_category=MeasureCategory.FRONTLINE_QUALITY
    )
    services.plan_submit(plan=plan, user=people["property_head"])
    services.plan_approve(plan=plan, user=people["manager"])
    plan.refresh_from_db()
    with pytest.raises(ValidationError, match="只有草稿"):
        services.plan_update(plan=plan, user=people["property_head"], version=plan.version, directions="改")
    # New items and research topics are taken all year (tests/test_plans_all_year.py); pilots are not.
    with pytest.raises(ValidationError, match="流程试点须在草稿阶段"):
        services.action_item_create(
            plan=plan, user=people["property_head"], kind=ItemKind.PILOT, title="新项",
            measure_category=MeasureCategory.CUSTOMER_CARE, pilot_scope="一期", new_process="新", cost_analysis="低",
        )
    with pytest.raises(ValidationError, match="只有草稿"):
        services.action_item_update(item=item, user=people["property_head"], title="改名")
    note = services.action_item_progress_add(
        item=item, user=people["property_head"], text="已完成一期", percent=40, status=ItemStatus.IN_PROGRESS
    )
    item.refresh_from_db()
    assert (note.percent, item.status, item.title) == (40, ItemStatus.IN_PROGRESS, "保洁频次")


# ---- research topic → improvement item ------------------------------------------------------------------------

def test_promoting_a_research_topic_keeps_its_history(people):
    plan = property_plan(people)
    topic = services.action_item_create(
        plan=plan, user=people["property_head"], kind=ItemKind.RESEARCH, title="绿化养护满意度低的原因",
        measure_category=MeasureCategory.FRONTLINE_QUALITY,
    )
    services.plan_submit(plan=plan, user=people["property_head"])
    services.plan_approve(plan=plan, user=people["manager"])
    services.action_item_promote(item=topic, user=people["property_head"])
    topic.refresh_from_db()
    assert topic.kind == ItemKind.IMPROVEMENT and topic.promoted_at is not None
    kinds = list(topic.history.order_by("history_date", "history_id").values_list("kind", "history_change_reason"))
    assert kinds == [(ItemKind.RESEARCH, "新增"), (ItemKind.IMPROVEMENT, "研究课题转为改善项目")]
    with pytest.raises(ValidationError, match="只有研究课题"):
        services.action_item_promote(item=topic, user=people["property_head"])


def test_another_head_cannot_promote_or_add_to_a_plan_they_do_not_own(people):
    plan = property_plan(people)
    with pytest.raises(PermissionDenied):
        services.action_item_create(
            plan=plan, user=people["engineering_head"], title="越权", measure_category=MeasureCategory.CUSTOMER_CARE
        )
    # The brand-service head sees the property plan (monitors it) but does not own it.
    with pytest.raises(PermissionDenied):
        services.action_item_create(
            plan=plan, user=people["brand_head"], title="越权", measure_category=MeasureCategory.CUSTOMER_CARE
        )
    topic = services.action_item_create(
        plan=plan, user=people["property_head"], kind=ItemKind.RESEARCH, title="课题",
        measure_category=MeasureCategory.CUSTOMER_CARE,
    )
    with pytest.raises(PermissionDenied):
        services.action_item_promote(item=topic, user=people["engineering_head"])
    assert ActionItem.objects.filter(plan=plan).count() == 1


def test_the_responsible_departments_head_may_record_progress(people):
    from departments.models import Department

    plan = property_plan(people)
    item = services.action_item_create(
        plan=plan, user=people["property_head"], title="客户关怀活动", measure_category=MeasureCategory.CUSTOMER_CARE,
        responsible_department=Department.objects.get(code="brand_service"),
    )
    services.action_item_progress_add(item=item, user=people["brand_head"], text="办了业主开放日", percent=30)
    with pytest.raises(PermissionDenied):
        services.action_item_progress_add(item=item, user=people["engineering_head"], text="x", percent=10)
    with pytest.raises(ValidationError, match="0 到 100"):
        services.action_item_progress_add(item=item, user=people["property_head"], text="x", percent=120)


# ---- e-mail -----------------------------------------------------------------------------------------------------

def test_mail_goes_to_management_on_submit_and_to_the_submitter_on_return_and_approval(
    people, second_manager, django_capture_on_commit_callbacks
):
    second_manager.email = "manager2@example.com"
    second_manager.save(update_fields=["email"])
    plan = property_plan(people)
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=people["property_head"])
    # One message per recipient: managers do not see each other's addresses.
    assert sorted(m.to[0] for m in mail.outbox) == ["manager2@example.com", "manager@example.com"]
    assert all(len(m.to) == 1 for m in mail.outbox)
    assert "待审批" in mail.outbox[0].subject and "物业管理" in mail.outbox[0].subject
    assert f"/plans/{plan.pk}/" in mail.outbox[0].body

    with django_capture_on_commit_callbacks(execute=True):
        services.plan_return(plan=plan, user=people["manager"], comment="请补充保洁考核标准")
    assert mail.outbox[2].to == ["property_head@example.com"]
    assert "退回" in mail.outbox[2].subject and "请补充保洁考核标准" in mail.outbox[2].body

    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=people["property_head"])
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_approve(plan=plan, user=people["manager"])
    assert len(mail.outbox) == 6
    assert mail.outbox[5].to == ["property_head@example.com"] and "已批准" in mail.outbox[5].subject


def test_a_user_who_turned_plan_mail_off_gets_none_and_the_others_still_do(
    people, second_manager, django_capture_on_commit_callbacks
):
    from core.notifications import notification_set

    second_manager.email = "manager2@example.com"
    second_manager.save(update_fields=["email"])
    notification_set(user=people["manager"], kind="plan_transition", enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=property_plan(people), user=people["property_head"])
    assert [m.to for m in mail.outbox] == [["manager2@example.com"]]


def test_a_refused_transition_sends_no_mail(people, django_capture_on_commit_callbacks):
    plan = property_plan(people)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.plan_submit(plan=plan, user=people["engineering_head"])
    assert mail.outbox == []


# ---- targets for the dashboards, scope, comments -----------------------------------------------------------

def test_plan_targets_count_only_agreed_plans(people):
    company = services.plan_create(user=people["staff"], year=2027, port="", satisfaction_target=0.82, loyalty_target=0.6)
    draft = property_plan(people)
    services.plan_submit(plan=company, user=people["staff"])
    services.plan_approve(plan=company, user=people["manager"])
    targets = plan_targets(year=2027)
    assert targets["company"] == {"satisfaction": pytest.approx(0.82), "loyalty": pytest.approx(0.6)}
    assert targets["ports"]["property"] is None  # still a draft
    services.plan_submit(plan=draft, user=people["property_head"])
    services.plan_approve(plan=draft, user=people["manager"])
    services.plan_start(plan=draft, user=people["property_head"])
    targets = plan_targets(year=2027)
    assert targets["ports"] == {"design": None, "engineering": None, "sales": None, "service": None, "property": 0.85}
    assert plan_targets(year=2026)["company"] == {"satisfaction": None, "loyalty": None}


def test_a_head_sees_only_plans_of_ports_their_department_owns_or_monitors(people):
    company = services.plan_create(user=people["staff"], year=2027, port="")
    prop = property_plan(people)
    engineering = services.plan_create(user=people["engineering_head"], year=2027, port="engineering")
    design_head = make_user("design_head", groups=["department_head"], department="design", head=True)
    design = services.plan_create(user=design_head, year=2027, port="design")

    def seen(user):
        return set(plans_visible_to(user).values_list("pk", flat=True))

    assert seen(people["property_head"]) == {prop.pk}
    assert seen(people["engineering_head"]) == {engineering.pk, design.pk}  # monitors design
    assert seen(people["brand_head"]) == {company.pk, prop.pk, engineering.pk, design.pk}
    assert seen(people["manager"]) == seen(people["committee_member"]) == seen(people["staff"]) == seen(people["brand_head"])


def test_comments_come_from_management_committee_working_groups_and_the_owner(people):
    plan = property_plan(people)
    for role in ("manager", "committee_member", "property_head"):
        services.plan_comment_add(plan=plan, user=people[role], text=f"{role} 的意见")
    with pytest.raises(PermissionDenied):
        services.plan_comment_add(plan=plan, user=people["staff"], text="品牌客服专员不在小组中")
    task_force = WorkingGroup.objects.create(
        name="物业满意度提升小组", kind=WorkingGroup.Kind.TASK_FORCE, starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30)
    )
    task_force.members.add(people["staff"])
    services.plan_comment_add(plan=plan, user=people["staff"], text="小组意见", today=date(2027, 3, 1))
    with pytest.raises(PermissionDenied):
        services.plan_comment_add(plan=plan, user=people["staff"], text="小组已结束", today=date(2027, 7, 1))
    with pytest.raises(ValidationError, match="评论不能为空"):
        services.plan_comment_add(plan=plan, user=people["manager"], text="   ")
    assert plan.comments.count() == 4


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_two_managers_approving_at_once_make_one_transition(property_head, manager, second_manager):
    """On PostgreSQL the row lock serialises the two approvals: one wins, the other sees 已批准 and is refused."""
    import threading

    from django.db import connection

    plan = services.plan_create(user=property_head, year=2027, port="property")
    services.plan_submit(plan=plan, user=property_head)
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            services.plan_approve(plan=ImprovementPlan.objects.get(pk=plan.pk), user=user)
            outcomes.append("approved")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (manager, second_manager)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes)[0] == "approved" and "已批准" in sorted(outcomes)[1]
    assert PlanTransition.objects.filter(plan=plan, action=PlanAction.APPROVE).count() == 1
