"""Demo improvement plans for `make run`: the latest survey year's plans in several workflow states.

Written through the services, as the demo users, so the history, transitions and baselines are the real thing.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction

from departments.models import Department
from improvement_plans import services
from improvement_plans.models import ImprovementPlan, ItemKind, ItemStatus, MeasureCategory
from improvement_plans.selectors import dashboard_question_numbers, latest_whole_survey_snapshot
from surveys.models import Survey
from surveys.selectors import survey_year

DEMO_DRAFTERS = ("staff", "mgmt", "head_property", "head_engineering", "head_marketing")


def _target(port: str, survey: Survey, *, step: float, loyalty: bool = False) -> float | None:
    row = latest_whole_survey_snapshot(port=port, survey=survey)
    rate = (row.loyalty_rate if loyalty else row.satisfaction_rate) if row else None
    return None if rate is None else min(0.99, round(rate + step, 2))


@transaction.atomic
def demo_plans_seed() -> int:
    """Plans for the latest survey's year, baselines from the survey before it. Returns plans written (0 when
    the demo users or two surveys are missing, or plans already exist)."""
    users = {u.username: u for u in User.objects.filter(username__in=DEMO_DRAFTERS)}
    surveys = list(
        Survey.objects.exclude(source=Survey.Source.TOUCHPOINT).order_by("starts_on", "created_at", "id")
    )
    if len(users) < len(DEMO_DRAFTERS) or len(surveys) < 2 or ImprovementPlan.objects.exists():
        return 0
    current = surveys[-1]
    # The baseline is the survey before it in its own series (2025-annual for 2026-annual), never another series'
    # (the group's third-party sample): plans are judged against the surveys of their year and series.
    earlier = [survey for survey in surveys[:-1] if survey.series_id == current.series_id]
    if not earlier:
        return 0
    before = earlier[-1]
    year = survey_year(current)
    staff, mgmt = users["staff"], users["mgmt"]

    company = services.plan_create(
        user=staff, year=year, port="", baseline_survey=before,
        satisfaction_target=_target("", before, step=0.03), loyalty_target=_target("", before, step=0.03, loyalty=True),
        directions="以物业服务和客户服务为重点，推动服务环节流程标准化；减少渗漏裂缝类投诉；开展全程客户关怀（深度访谈、业主开放日、服务承诺）。",
        feedback_summary="全年回访业主约 1,800 户，收集意见建议 420 条；投诉集中在保洁、绿化和维修及时性，模拟验收发现的渗漏问题已纳入工程整改。",
    )
    services.action_item_create(
        plan=company, user=staff, title="业主开放日（每季度一次）", measure_category=MeasureCategory.CUSTOMER_CARE,
        responsible_person="王敏", due_on=date(year, 12, 31),
    )
    services.action_item_create(
        plan=company, user=staff, kind=ItemKind.RESEARCH, title="磨合期业主忠诚度偏低的原因",
        measure_category=MeasureCategory.CUSTOMER_CARE, description="结合回访记录与深度访谈，区分交付质量与服务体验的影响。",
    )
    services.plan_submit(plan=company, user=staff)
    services.plan_approve(plan=company, user=mgmt, comment="同意，按季度汇报进展。")
    services.plan_start(plan=company, user=staff)

    head = users["head_property"]
    prop = services.plan_create(
        user=head, year=year, port="property", baseline_survey=before,
        satisfaction_target=_target("property", before, step=0.05),
        directions="保洁与绿化外包考核；公共设施维护巡查；报修 24 小时闭环。",
        feedback_summary="天河云著保洁与绿化投诉占物业类投诉的四成；报修平均关闭时间 3.2 天。",
    )
    numbers = dashboard_question_numbers(user=head, port="property", question_code="property_cleaning", survey_code=before.code)
    cleaning = services.action_item_create(
        plan=prop, user=head, title="保洁频次与标准提升", measure_category=MeasureCategory.FRONTLINE_QUALITY,
        responsible_department=Department.objects.get(code="property"), responsible_person="赵经理", due_on=date(year, 6, 30),
        **(
            {"question_code": numbers.question_code, "source_survey": numbers.survey, "question_rate": numbers.rate,
             "question_n": numbers.n, "question_importance": numbers.importance}
            if numbers else {}
        ),
    )
    pilot = services.action_item_create(
        plan=prop, user=head, kind=ItemKind.PILOT, title="报修 24 小时闭环试点", measure_category=MeasureCategory.PROCESS_STANDARDS,
        pilot_scope="天河云著 3 栋、5 栋", old_process="前台登记 → 次日排班 → 维修 → 不回访",
        new_process="接单即派工 → 24 小时内完成或说明 → 完工当日电话回访", cost_analysis="增加 1 名夜班维修工，年成本约 8 万元；预计减少重复报修 30%。",
    )
    services.action_item_create(
        plan=prop, user=head, kind=ItemKind.RESEARCH, title="绿化养护满意度低的原因", measure_category=MeasureCategory.FRONTLINE_QUALITY,
    )
    services.plan_submit(plan=prop, user=head)
    services.plan_approve(plan=prop, user=mgmt)
    services.plan_start(plan=prop, user=head)
    services.action_item_progress_add(item=cleaning, user=head, text="一期、二期已按每日两次执行。", percent=40,
                                      status=ItemStatus.IN_PROGRESS)
    services.action_item_pilot_record(
        item=pilot, user=head, comparison_kind="pilot_vs_rest", pilot_satisfied=83, pilot_n=97,
        comparison_satisfied=402, comparison_n=531,
    )

    eng_head = users["head_engineering"]
    eng = services.plan_create(
        user=eng_head, year=year, port="engineering", baseline_survey=before,
        satisfaction_target=_target("engineering", before, step=0.02),
        directions="交付前模拟验收全覆盖；渗漏裂缝专项整治。",
    )
    services.action_item_create(
        plan=eng, user=eng_head, title="交付前模拟验收全覆盖", measure_category=MeasureCategory.DESIGN_CONSTRUCTION,
        due_on=date(year, 9, 30),
    )
    services.plan_submit(plan=eng, user=eng_head)
    services.plan_return(plan=eng, user=mgmt, comment="请补充渗漏裂缝整治的量化目标和完成时间。")

    sales_head = users["head_marketing"]
    sales = services.plan_create(
        user=sales_head, year=year, port="sales", baseline_survey=before,
        satisfaction_target=_target("sales", before, step=0.02), directions="销售承诺清单化，交付前逐项核对。",
    )
    services.plan_submit(plan=sales, user=sales_head)
    return 4
