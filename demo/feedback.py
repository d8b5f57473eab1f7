"""Demo data of the research bases for `make run`: feedback records, a few callbacks and one external report.

Deterministic (one seeded generator over the demo owners as loaded by ``seed_demo``) and written in bulk. The
numbers tell the same story as the survey demo (``demo.surveys``): 天河云著 (weakest property score) has by
far the most property complaints and the slowest closing, 宝安滨海湾花园 (rushed delivery) the most engineering
complaints and repairs, 番禺星河湾畔 sales complaints about promises, and the two projects delivered during the
period have 模拟验收 defects in the months before their keys were handed over.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from demo.surveys import PROJECTS
from feedback.models import (
    CallbackOutcome,
    CallbackRule,
    ExternalBenchmark,
    Feedback,
    FeedbackKind,
    FeedbackSeverity,
    FeedbackStatus,
)
from feedback.services import benchmark_create, callback_record
from owners.models import Owner, Project

SEED = 20260402
REFERENCE_PREFIX = "DEMO-FB-"
PERIOD_START = date(2025, 1, 1)
# The demo's "today" (as demo.surveys.MOVED_IN_BY): records after it would be in the future of the story.
DEMO_TODAY = date(2026, 10, 31)
DELIVERED = {p.code: p.delivered_on for p in PROJECTS}
UNITS = {p.code: p.owners for p in PROJECTS}

# Records per 100 households over the period, by (port, kind) and project. Property complaints follow the
# property satisfaction of the survey demo inversely (天河云著 lowest), engineering the delivery quality.
RATES: dict[tuple[str, str], dict[str, float]] = {
    ("property", FeedbackKind.COMPLAINT): {"SZ-JY01": 2.0, "SZ-JY02": 4.5, "SZ-BA01": 3.5, "GZ-TH01": 12.5, "GZ-PY01": 3.0, "GZ-HP01": 1.0},
    ("property", FeedbackKind.REPAIR): {"SZ-JY01": 7.0, "SZ-JY02": 6.0, "SZ-BA01": 8.0, "GZ-TH01": 13.0, "GZ-PY01": 7.5, "GZ-HP01": 2.0},
    ("property", FeedbackKind.SUGGESTION): {"SZ-JY01": 1.5, "SZ-JY02": 1.0, "SZ-BA01": 1.0, "GZ-TH01": 2.5, "GZ-PY01": 1.5, "GZ-HP01": 0.5},
    ("property", FeedbackKind.OPINION): {"SZ-JY01": 0.5, "SZ-JY02": 0.8, "SZ-BA01": 0.8, "GZ-TH01": 3.0, "GZ-PY01": 0.7, "GZ-HP01": 0.3},
    ("engineering", FeedbackKind.COMPLAINT): {"SZ-JY01": 1.5, "SZ-JY02": 6.0, "SZ-BA01": 9.0, "GZ-TH01": 2.5, "GZ-PY01": 1.5, "GZ-HP01": 2.0},
    ("engineering", FeedbackKind.REPAIR): {"SZ-JY01": 3.0, "SZ-JY02": 14.0, "SZ-BA01": 16.0, "GZ-TH01": 5.0, "GZ-PY01": 3.5, "GZ-HP01": 6.0},
    ("engineering", FeedbackKind.ACCEPTANCE): {"SZ-JY02": 15.0, "GZ-HP01": 16.0},
    ("design", FeedbackKind.ACCEPTANCE): {"SZ-JY02": 2.0, "GZ-HP01": 2.5},
    ("design", FeedbackKind.SUGGESTION): {"SZ-JY01": 0.4, "SZ-JY02": 0.8, "SZ-BA01": 0.6, "GZ-TH01": 0.6, "GZ-PY01": 0.8, "GZ-HP01": 1.0},
    ("design", FeedbackKind.COMPLAINT): {"SZ-BA01": 0.8, "GZ-HP01": 1.0, "GZ-TH01": 0.5},
    ("sales", FeedbackKind.COMPLAINT): {"SZ-JY02": 0.7, "SZ-BA01": 1.0, "GZ-PY01": 3.5, "GZ-HP01": 0.7},
    ("sales", FeedbackKind.OPINION): {"SZ-JY01": 0.3, "SZ-JY02": 0.5, "SZ-BA01": 0.6, "GZ-TH01": 0.5, "GZ-PY01": 2.0, "GZ-HP01": 0.7},
    ("service", FeedbackKind.COMPLAINT): {"SZ-JY01": 0.8, "SZ-JY02": 1.0, "SZ-BA01": 1.2, "GZ-TH01": 1.5, "GZ-PY01": 1.0, "GZ-HP01": 0.3},
    ("service", FeedbackKind.SUGGESTION): {"SZ-JY01": 0.5, "SZ-JY02": 0.5, "SZ-BA01": 0.5, "GZ-TH01": 0.5, "GZ-PY01": 0.5, "GZ-HP01": 0.7},
}  # fmt: skip

# Median days to close by kind; 天河云著's property company closes its tickets twice as slowly.
CLOSE_MEDIAN_DAYS = {
    FeedbackKind.COMPLAINT: 6, FeedbackKind.REPAIR: 2, FeedbackKind.ACCEPTANCE: 18,
    FeedbackKind.SUGGESTION: 14, FeedbackKind.OPINION: 8, FeedbackKind.CALLBACK: 5,
}  # fmt: skip
SLOW = {("GZ-TH01", "property"): 2.2, ("SZ-BA01", "engineering"): 1.5}
SEVERITY_WEIGHTS = {
    FeedbackKind.COMPLAINT: (70, 25, 5), FeedbackKind.REPAIR: (85, 13, 2), FeedbackKind.ACCEPTANCE: (60, 30, 10),
    FeedbackKind.SUGGESTION: (100, 0, 0), FeedbackKind.OPINION: (90, 10, 0),
}  # fmt: skip
SEVERITIES = (FeedbackSeverity.NORMAL, FeedbackSeverity.MAJOR, FeedbackSeverity.SEVERE)

DESCRIPTIONS: dict[tuple[str, str], tuple[str, ...]] = {
    ("property", FeedbackKind.COMPLAINT): (
        "地下车库照明长期损坏，多次反映无人处理", "电梯频繁故障停运，老人上下楼困难", "保洁不及时，垃圾桶满溢有异味",
        "保安巡逻不到位，外来人员随意进出小区", "物业费公示不透明，收支情况无从查询", "园林养护差，草坪大面积枯黄",
        "报修三天无人上门，物业前台推诿", "楼上装修噪音扰民，物业协调不力", "车位被长期占用，物业不予处理",
        "小区门禁损坏一个月未修复", "物业人员服务态度差，对业主不耐烦", "消防通道被杂物堵塞，物业未清理",
    ),
    ("property", FeedbackKind.REPAIR): (
        "单元门禁读卡失灵", "走廊感应灯不亮", "电梯按键失灵", "地下车库排水沟堵塞", "楼道消防栓箱门损坏",
        "小区路灯不亮", "单元门闭门器损坏", "儿童游乐设施螺丝松动", "信报箱锁损坏",
    ),
    ("property", FeedbackKind.SUGGESTION): (
        "建议增设电动车集中充电桩", "建议增加儿童游乐设施", "建议开通物业费线上缴纳", "建议增设快递柜",
        "建议夜间增加巡逻频次", "建议定期公示维修基金使用情况",
    ),
    ("property", FeedbackKind.OPINION): (
        "物业费上调前未征求业主意见", "公共区域广告收益去向不明", "小区宠物管理规定执行不严",
    ),
    ("engineering", FeedbackKind.COMPLAINT): (
        "卫生间渗水至楼下，维修两次仍未解决", "外墙开裂，雨天室内墙面潮湿", "窗户密封不严，台风天漏水",
        "客厅地面空鼓面积大", "入户门变形关不严", "墙面起皮发霉", "屋面防水失效，顶层渗漏",
        "地下室渗水，储藏间物品受潮",
    ),
    ("engineering", FeedbackKind.REPAIR): (
        "厨房下水管堵塞", "阳台地漏反水", "开关面板松动", "卫生间墙砖脱落", "推拉门滑轨卡顿",
        "空调冷凝水管漏水", "入户门锁芯损坏", "地暖分水器渗水", "窗框打胶开裂",
    ),
    ("engineering", FeedbackKind.ACCEPTANCE): (
        "主卧墙面平整度超差", "阳台栏杆高度不足", "卫生间闭水试验渗漏", "入户门与门框缝隙过大",
        "厨房墙砖空鼓", "窗框打胶不饱满", "强电箱回路标识缺失", "地面找平层开裂", "吊顶检修口未预留",
    ),
    ("design", FeedbackKind.ACCEPTANCE): (
        "次卧窗户开启扇被空调位遮挡", "卫生间门与洗手台碰撞", "厨房插座位置与橱柜冲突",
    ),
    ("design", FeedbackKind.SUGGESTION): (
        "建议地库增加导向标识", "建议增加非机动车停放区", "建议架空层增设休闲座椅", "建议单元大堂增设无障碍坡道",
    ),
    ("design", FeedbackKind.COMPLAINT): (
        "楼间距过小，低层采光不足", "实际绿化面积与规划图不符", "地库坡道过陡，雨天易打滑",
    ),
    ("sales", FeedbackKind.COMPLAINT): (
        "销售承诺的学位未兑现", "交付标准与样板间不一致", "销售承诺的地铁接驳巴士未开通",
        "车位销售价格与当初承诺不符",
    ),
    ("sales", FeedbackKind.OPINION): (
        "合同补充条款解释不清", "交房通知时间太短，来不及安排", "销售人员离职后遗留问题无人跟进",
    ),
    ("service", FeedbackKind.COMPLAINT): (
        "投诉处理回复太慢", "客服热线长时间无人接听", "同一问题反复反映，每次都要重新说明",
    ),
    ("service", FeedbackKind.SUGGESTION): (
        "建议开通线上报修进度查询", "建议交付前组织业主开放日", "建议定期通报投诉处理结果",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class DemoOwnerRef:
    unit: str
    name: str
    move_in_date: date | None


@dataclass(frozen=True)
class DemoFeedback:
    reference: str
    kind: str
    project: str
    port: str
    unit: str
    owner_unit: str  # the owner's unit when the record is about a known owner, else ""
    received_on: date
    severity: str
    status: str
    closed_on: date | None
    description: str


def _window(project: str, kind: str) -> tuple[date, date]:
    """Dates a record of this kind can be received: 模拟验收 in the three months before delivery, the rest
    from delivery (or the start of the period) to the demo's today."""
    delivered = DELIVERED[project]
    if kind == FeedbackKind.ACCEPTANCE:
        return max(PERIOD_START, delivered - timedelta(days=90)), min(DEMO_TODAY, delivered - timedelta(days=3))
    return max(PERIOD_START, delivered + timedelta(days=7)), DEMO_TODAY


def demo_feedback_dataset(*, owners: dict[str, list[DemoOwnerRef]]) -> list[DemoFeedback]:
    """Every demo feedback record as plain values, given the demo owners per project code (same input, same
    output: no database, no clock)."""
    rand = random.Random(SEED)
    records: list[DemoFeedback] = []
    for (port, kind), by_project in RATES.items():
        for project in sorted(by_project):
            if project not in owners:
                continue
            count = round(by_project[project] * UNITS[project] / 100)
            first, last = _window(project, kind)
            if last < first:
                continue
            span = (last - first).days
            for _ in range(count):
                received_on = first + timedelta(days=rand.randint(0, span))
                records.append(_record(rand, project=project, port=port, kind=kind, received_on=received_on, owners=owners[project]))
    records.sort(key=lambda r: (r.received_on, r.project, r.port, r.kind, r.description, r.unit))
    return [replace(r, reference=f"{REFERENCE_PREFIX}{n:05d}") for n, r in enumerate(records, start=1)]


def _record(rand: random.Random, *, project: str, port: str, kind: str, received_on: date, owners: list[DemoOwnerRef]) -> DemoFeedback:
    moved_in = [o for o in owners if o.move_in_date is not None and o.move_in_date <= received_on]
    unit, owner_unit = "", ""
    if kind == FeedbackKind.ACCEPTANCE:
        unit = rand.choice(owners).unit if owners else ""  # inspected before anyone lives there: no owner
    elif moved_in and rand.random() < 0.85:
        owner = rand.choice(moved_in)
        unit = owner_unit = owner.unit
    severity = rand.choices(SEVERITIES, weights=SEVERITY_WEIGHTS.get(kind, (100, 0, 0)))[0]
    median = CLOSE_MEDIAN_DAYS[kind] * SLOW.get((project, port), 1.0) * (1.6 if severity == FeedbackSeverity.SEVERE else 1.0)
    # Log-normal days to close: most tickets close near the median, a few take weeks.
    days = max(0, round(math.exp(math.log(median) + 0.7 * rand.gauss(0, 1))))
    status, closed_on = FeedbackStatus.OPEN, None
    if received_on + timedelta(days=days) <= DEMO_TODAY and rand.random() < 0.96:
        status, closed_on = FeedbackStatus.CLOSED, received_on + timedelta(days=days)
    elif (DEMO_TODAY - received_on).days > 7:  # a week's grace before a ticket counts as being worked on
        status = FeedbackStatus.IN_PROGRESS
    return DemoFeedback(
        reference="",
        kind=kind,
        project=project,
        port=port,
        unit=unit,
        owner_unit=owner_unit,
        received_on=received_on,
        severity=severity,
        status=status,
        closed_on=closed_on,
        description=rand.choice(DESCRIPTIONS[(port, kind)]),
    )


# --- External report and callbacks -----------------------------------------------------------------------------

BENCHMARK = {
    "name": "集团2026年度第三方满意度调查",
    "source": "集团客户关系中心（第三方调查机构执行）",
    "report_on": date(2026, 8, 20),
    "notes": "集团各城市公司统一口径；本公司样本为深圳、广州两地在售及已交付楼盘。",
}
BENCHMARK_ROWS = (
    {"port": "", "sample_size": 3260, "satisfaction_rate": 0.834, "loyalty_rate": 0.612},
    {"port": "design", "sample_size": 3180, "satisfaction_rate": 0.842},
    {"port": "engineering", "sample_size": 2650, "satisfaction_rate": 0.781},
    {"port": "sales", "sample_size": 3120, "satisfaction_rate": 0.808},
    {"port": "service", "sample_size": 3150, "satisfaction_rate": 0.836},
    {"port": "property", "sample_size": 2710, "satisfaction_rate": 0.803},
)

CALLBACK_NOTES = {
    CallbackOutcome.REACHED: ("业主对入住情况总体满意", "业主反映小区环境不错，希望保持", "业主提到邻里噪音，已转物业关注"),
    CallbackOutcome.NOT_REACHED: ("电话无人接听，三天后再拨",),
    CallbackOutcome.REFUSED: ("业主表示工作忙，不便接受回访",),
}
CALLBACK_OUTCOMES = (
    [CallbackOutcome.REACHED] * 9 + [CallbackOutcome.NOT_REACHED] * 2 + [CallbackOutcome.REFUSED]
)
CALLBACK_ISSUES = (("engineering", "回访中业主反映卫生间墙角返潮"), ("property", "回访中业主反映楼道灯长期不亮"))


@dataclass(frozen=True)
class DemoCallback:
    project: str
    unit: str
    months: int
    due_on: date
    called_on: date
    outcome: str
    notes: str
    scores: dict | None
    issue: tuple[str, str] | None


def demo_callback_dataset(*, owners: dict[str, list[DemoOwnerRef]], rule_months: list[int]) -> list[DemoCallback]:
    """A dozen callbacks due under the callback rules in the two months before the demo's today."""
    from dateutil.relativedelta import relativedelta

    rand = random.Random(SEED + 1)
    candidates = []
    for project in sorted(owners):
        for owner in owners[project]:
            if owner.move_in_date is None:
                continue
            for months in rule_months:
                due_on = owner.move_in_date + relativedelta(months=months)
                if DEMO_TODAY - timedelta(days=60) <= due_on <= DEMO_TODAY - timedelta(days=5):
                    candidates.append((project, owner.unit, months, due_on))
    picked = rand.sample(candidates, min(len(CALLBACK_OUTCOMES), len(candidates)))
    callbacks = []
    issues = list(CALLBACK_ISSUES)
    for (project, unit, months, due_on), outcome in zip(picked, CALLBACK_OUTCOMES):
        scores = issue = None
        if outcome == CallbackOutcome.REACHED:
            overall = rand.choices((3, 4, 5), weights=(15, 45, 40))[0]
            scores = {"overall": overall, "repurchase": max(1, overall - rand.randint(0, 1)),
                      "recommend": max(1, overall - rand.randint(0, 1))}  # fmt: skip
            if issues and overall <= 4:
                issue = issues.pop(0)
        callbacks.append(
            DemoCallback(
                project=project,
                unit=unit,
                months=months,
                due_on=due_on,
                called_on=due_on + timedelta(days=rand.randint(-3, 4)),
                outcome=outcome,
                notes=rand.choice(CALLBACK_NOTES[outcome]),
                scores=scores,
                issue=issue,
            )
        )
    return sorted(callbacks, key=lambda c: (c.called_on, c.project, c.unit))


# --- Writing ---------------------------------------------------------------------------------------------------


def demo_feedback_present() -> bool:
    return Feedback.objects.exists()


def _demo_owners(projects: dict[str, Project]) -> dict[str, list[DemoOwnerRef]]:
    owners: dict[str, list[DemoOwnerRef]] = {code: [] for code in projects}
    rows = (
        Owner.objects.filter(project__in=projects.values(), anonymised_at__isnull=True)
        .order_by("project__code", "unit", "id")
        .values_list("project__code", "unit", "name", "move_in_date")
    )
    for code, unit, name, move_in_date in rows:
        owners[code].append(DemoOwnerRef(unit, name, move_in_date))
    return owners


@transaction.atomic
def demo_feedback_seed() -> dict[str, int]:
    """Write the demo feedback, callbacks and external report for the demo projects present (nothing if none
    is). Projects without a unit count get the demo's. Returns counts of what was written."""
    projects = {p.code: p for p in Project.objects.filter(code__in=list(UNITS)).order_by("code")}
    if not projects:
        return {"feedback": 0, "callbacks": 0, "benchmarks": 0, "projects": 0}
    for code, project in projects.items():
        if project.unit_count is None:
            project.unit_count = UNITS[code]
            project.save(update_fields=["unit_count"])
    staff = User.objects.filter(username="staff").first()
    owners = _demo_owners(projects)
    owner_ids = {
        (code, unit): pk
        for pk, code, unit in Owner.objects.filter(project__in=projects.values()).values_list("id", "project__code", "unit")
    }
    records = demo_feedback_dataset(owners=owners)
    rows = [
        Feedback(
            reference=r.reference,
            kind=r.kind,
            project=projects[r.project],
            owner_id=owner_ids.get((r.project, r.owner_unit)) if r.owner_unit else None,
            unit=r.unit,
            port=r.port,
            received_on=r.received_on,
            severity=r.severity,
            status=r.status,
            closed_on=r.closed_on,
            description=r.description,
            created_by=staff,
        )
        for r in records
    ]
    bulk_create_with_history(rows, Feedback, batch_size=1000, default_change_reason="演示数据", default_user=staff)
    # The bulk write sends no feedback_changed: open the open records' follow-up tickets as the form would.
    from followup.services import tickets_sync_feedback

    open_ids = list(
        Feedback.objects.filter(reference__in=[r.reference for r in records]).exclude(status="closed")
        .order_by("id").values_list("id", flat=True)
    )
    tickets_sync_feedback(feedback_ids=open_ids, now=timezone.now())

    rules = {rule.months_after_move_in: rule for rule in CallbackRule.objects.order_by("id")}
    callbacks = demo_callback_dataset(owners=owners, rule_months=sorted(rules))
    owners_by_key = {
        (o.project.code, o.unit): o
        for o in Owner.objects.filter(pk__in=[owner_ids[(c.project, c.unit)] for c in callbacks]).select_related("project")
    }
    for c in callbacks:
        callback_record(
            owner=owners_by_key[(c.project, c.unit)],
            rule=rules[c.months],
            due_on=c.due_on,
            called_on=c.called_on,
            outcome=c.outcome,
            notes=c.notes,
            scores=c.scores,
            issue_port=c.issue[0] if c.issue else "",
            issue_description=c.issue[1] if c.issue else "",
            called_by=staff,
        )

    benchmarks = 0
    if not ExternalBenchmark.objects.filter(name=BENCHMARK["name"], report_on=BENCHMARK["report_on"]).exists():
        benchmark_create(**BENCHMARK, rows=[dict(row) for row in BENCHMARK_ROWS], created_by=staff)
        benchmarks = 1
    return {"feedback": len(rows), "callbacks": len(callbacks), "benchmarks": benchmarks, "projects": len(projects)}
