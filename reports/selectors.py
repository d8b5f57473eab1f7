"""What a report pack shows: the dashboards' panels of one wave for the reader's scope, from snapshots only.

The company section and one section per visible port reuse ``dashboards.panels`` (the same rows and chart data the
dashboards show), beside feedback evidence, the overdue follow-up tickets (``followup``), the themes of open comments
(``feedback.themes``) and plan progress. Nothing here recomputes a rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dashboards import panels as P
from dashboards.selectors import (
    SliceFilter,
    dashboard_ports_for,
    dashboard_surveys,
    dashboard_targets,
    dashboard_user_may_enter,
    detail_items,
    key_drivers,
    port_name,
    port_slice_rows,
    question_labels,
    slice_trends,
)
from departments.ports import PORTS
from departments.selectors import user_sees_company_wide
from feedback.selectors import PortEvidence, feedback_port_evidence_cached
from feedback.themes import ThemeCount, port_comment_themes
from followup.models import Escalation, Ticket
from followup.selectors import ticket_list
from improvement_plans.selectors import plan_follow_through, plan_items, plans_for_year
from reports.charts import chart_svg
from satisfaction.selectors import metric_run_state
from surveys.models import Survey
from surveys.selectors import survey_year

WEAKEST_ITEMS = 5


# --- Weighted figures (weighting to the owner population): shown only where a snapshot row carries them -------


@dataclass(frozen=True)
class Weighted:
    rate: float
    low: float | None
    high: float | None
    n_eff: float | None


def weighted_of(row, *, loyalty: bool = False) -> Weighted | None:
    """The snapshot row's satisfaction (or, ``loyalty``, loyalty) weighted to the owner population: the rate, the
    Wilson interval at the Kish effective n, and that n. None when the wave is not weighted or nobody in the slice
    weighs (``weighted_rate`` null)."""
    if row is None:
        return None
    if loyalty:
        rate, low, high, n_eff = (row.weighted_loyalty_rate, row.weighted_loyalty_ci_low, row.weighted_loyalty_ci_high,
                                  row.loyalty_n_eff)  # fmt: skip
    else:
        rate, low, high, n_eff = row.weighted_rate, row.weighted_ci_low, row.weighted_ci_high, row.n_eff
    return None if rate is None else Weighted(rate, low, high, n_eff)


# --- Feedback, comments, plans -------------------------------------------------------------------------------------


# The themes of open comments (``feedback.themes``, the port dashboard's theme panel: the same cached counts).
THEME_EXAMPLES = 2  # examples printed per theme (the dashboard shows up to three)
TOP_THEMES = 8  # themes listed in the company section, across the reader's ports


@dataclass(frozen=True)
class PortTheme:
    """One theme of one port's lexicon with its counts (for the company section's list across ports)."""

    port: str
    port_label: str
    count: ThemeCount


def section_themes(*, survey: Survey, port: str) -> list[ThemeCount]:
    """Every theme of the port's lexicon, in its order, counted on the wave's comments read for the port (its own
    questions' and the general ones) — exactly the port dashboard's theme panel."""
    return port_comment_themes(survey=survey, port=port)


def top_themes(sections: list[PackSection], *, limit: int = TOP_THEMES) -> list[PortTheme]:
    """The most mentioned themes across the sections' ports (each port counted by its own lexicon): by comments,
    then owners, then the port's and the lexicon's order. Themes nobody mentioned are left out."""
    found = [
        (index, position, PortTheme(section.port, section.title, count))
        for index, section in enumerate(sections)
        for position, count in enumerate(section.themes)
        if count.comments
    ]
    found.sort(key=lambda item: (-item[2].count.comments, -item[2].count.owners, item[0], item[1]))
    return [theme for _index, _position, theme in found[:limit]]


# Overdue follow-up tickets (the follow-up app's 已逾期 selection) as of the pack's or the digest's time.
OVERDUE_SHOWN = 10  # rows a port page lists; the rest are counted


def overdue_tickets(*, user, ports: list[str], now: datetime) -> list[Ticket]:
    """The follow-up tickets of these ports past their SLA while the clock still runs (新建/处理中), as the
    follow-up app selects them (``followup.selectors.ticket_list(overdue_at=now)``, the ticket list's 已逾期 view,
    within what the reader may see), each with its escalation (to the department head, then management).
    Earliest due first."""
    return list(ticket_list(user=user, overdue_at=now).filter(port__in=ports))


@dataclass
class PlanProgress:
    plan: object  # ImprovementPlan
    follow: object  # FollowThrough
    items: list = field(default_factory=list)

    @property
    def done_items(self) -> int:
        return sum(1 for item in self.items if item.status == "done")


def plan_progress(*, user, year: int, port: str) -> PlanProgress | None:
    """The year's plan of this scope ('' = company) that the user may see, with target vs. actual and its items."""
    plan = next((plan for plan in plans_for_year(user=user, year=year) if plan.port == port), None)
    if plan is None:
        return None
    return PlanProgress(plan, plan_follow_through(plan=plan), plan_items(plan=plan))


# --- The pack ------------------------------------------------------------------------------------------------------


@dataclass
class PackSection:
    port: str  # "" = the company section
    title: str
    panels: dict[str, dict]
    charts: dict[str, str | None]
    weakest: list = field(default_factory=list)
    drivers: object = None
    feedback: PortEvidence | None = None
    themes: list[ThemeCount] = field(default_factory=list)  # a port section: its lexicon's counts
    top_themes: list[PortTheme] = field(default_factory=list)  # the company section: the top ones across ports
    plan: PlanProgress | None = None
    overdue: list[Ticket] = field(default_factory=list)  # the section's ports' overdue follow-up tickets
    headline: object = None  # the whole-survey MetricSnapshot of this section (headline or port)
    change: object = None  # ChangeTest against the previous wave of the same series, or None
    change_from: Survey | None = None


@dataclass
class ReportPack:
    survey: Survey
    ports: list[str]
    company_wide: bool
    company: PackSection
    sections: list[PackSection]
    computed_at: datetime | None
    generated_at: datetime

    @property
    def port_labels(self) -> list[str]:
        return [port_name(port) for port in self.ports]

    @property
    def overdue_by_port(self) -> list[tuple[str, int, int]]:
        """(port label, overdue tickets, of them escalated to management) per section."""
        return [
            (section.title, len(section.overdue),
             sum(ticket.escalation == Escalation.MANAGEMENT for ticket in section.overdue))
            for section in self.sections
        ]


def pack_ports_for(user, *, only: str | None = None) -> list[str]:
    """The ports of this user's pack: every port they may see, or just ``only`` (which must be one of them)."""
    if not dashboard_user_may_enter(user):
        raise PermissionError(_("您没有查看满意度看板的权限。"))
    ports = dashboard_ports_for(user)
    if only:
        if only not in PORTS:
            raise LookupError(_("未知端口“%(port)s”。") % {"port": only})
        if only not in ports:
            raise PermissionError(_("您所在的部门不负责也不监控该端口。"))
        return [only]
    return ports


def _by_table(panels: list[dict]) -> dict[str, dict]:
    return {panel["table_id"].replace("-", "_"): panel for panel in panels}


def _this_point(trends: dict, port: str, survey: Survey):
    return next((point for point in trends.get(port, []) if point.survey.pk == survey.pk), None)


def _company_section(*, survey, surveys, ports, targets, labels, user, year, everything: bool) -> PackSection:
    chosen = SliceFilter()
    panels = _by_table(P.overview_panels(survey=survey, surveys=surveys, ports=ports, chosen=chosen, targets=targets,
                                         labels=labels if everything else None))
    rows = port_slice_rows(survey=survey, ports=[""], chosen=chosen)
    projects = P.projects_panel(rows=rows, port="", chosen=chosen)
    panels["project_table"] = projects
    trends = slice_trends(surveys=surveys, ports=[""], chosen=chosen)
    point = _this_point(trends, "", survey)
    charts = {
        "ports": chart_svg(panels["port_table"]["chart"], width=4.2, height=2.2),
        "stages": chart_svg(panels["stage_table"]["chart"]),
        "projects": chart_svg(projects["chart"], width=4.2, height=2.2),
        "trend": chart_svg(panels["trend_table"]["chart"], height=2.6),
        "drivers": chart_svg(panels["driver_table"]["chart"], width=4.2, height=3.4) if "driver_table" in panels else None,
    }
    return PackSection(
        port="", title=_("公司整体"), panels=panels, charts=charts,
        drivers=panels.get("driver_table", {}).get("drivers"),
        plan=plan_progress(user=user, year=year, port=""),
        headline=point.row if point else None, change=point.change if point else None,
        change_from=point.change_from if point else None,
    )


def _port_section(*, survey, surveys, port, targets, labels, user, year) -> PackSection:
    chosen = SliceFilter()
    panels = _by_table(P.port_panels(survey=survey, surveys=surveys, port=port, chosen=chosen, targets=targets,
                                     labels=labels))
    items = detail_items(survey=survey, ports=[port], chosen=chosen, labels=labels)[:WEAKEST_ITEMS]
    weakest = P.items_panel(items=items, title=_("最弱细项"))
    drivers = key_drivers(survey=survey, port=port, project_id=None, labels=labels)
    trends = slice_trends(surveys=surveys, ports=[port], chosen=chosen)
    point = _this_point(trends, port, survey)
    charts = {
        "projects": chart_svg(panels["project_table"]["chart"]),
        "stages": chart_svg(panels["stage_table"]["chart"], height=2.2),
        "items": chart_svg(weakest["chart"], height=1.5),
        "drivers": chart_svg(panels["driver_table"]["chart"], width=4.2, height=3.2),
        "trend": chart_svg(panels["trend_table"]["chart"], height=2.0),
    }
    return PackSection(
        port=port, title=port_name(port), panels=panels, charts=charts, weakest=weakest["items"], drivers=drivers,
        feedback=feedback_port_evidence_cached(port=port, survey=survey),
        themes=section_themes(survey=survey, port=port),
        plan=plan_progress(user=user, year=year, port=port),
        headline=point.row if point else None, change=point.change if point else None,
        change_from=point.change_from if point else None,
    )


def report_pack(*, user, survey: Survey, now: datetime, only_port: str | None = None) -> ReportPack:
    """The pack of one wave as this user may read it: the company section and a section per port they may see
    (``only_port``: that port alone). Raises PermissionError / LookupError like the dashboards refuse."""
    ports = pack_ports_for(user, only=only_port)
    surveys = dashboard_surveys()
    targets = dashboard_targets(survey=survey)
    labels = question_labels(survey=survey)
    year = survey_year(survey)
    everything = set(ports) == set(PORTS)
    company = _company_section(survey=survey, surveys=surveys, ports=ports, targets=targets, labels=labels, user=user,
                               year=year, everything=everything)
    sections = [
        _port_section(survey=survey, surveys=surveys, port=port, targets=targets, labels=labels, user=user, year=year)
        for port in ports
    ]
    company.top_themes = top_themes(sections)
    overdue = overdue_tickets(user=user, ports=ports, now=now)
    company.overdue = overdue
    for section in sections:
        section.overdue = [ticket for ticket in overdue if ticket.port == section.port]
    return ReportPack(
        survey=survey, ports=ports, company_wide=user_sees_company_wide(user), company=company, sections=sections,
        computed_at=metric_run_state(survey=survey)["computed_at"], generated_at=now,
    )


# The number rules printed on the pack's last page (the README's "The numbers", in the readers' words).
NUMBER_RULES = [
    gettext_noop("满意度 = 打 4 分或 5 分的答案数 ÷ 作答数；总体满意度取“总体满意度”题，端口满意度取该端口的总体题。"),
    gettext_noop("忠诚度 = 总体满意度、再次购买意愿、推荐意愿三题均 ≥ 4 分的答卷数 ÷ 三题均作答的答卷数。"),
    gettext_noop("区间为 95% Wilson 区间（z = 1.96）；样本量 n < 30 的格标为“样本不足”。"),
    gettext_noop("目标判定：整个区间高于目标为达标，整个区间低于目标为未达标，否则为不确定。"),
    gettext_noop("变化：与同一调查系列中上一期（按调查期开始日期）同一范围的数字比较，非合并双比例 z 检验，|z| > 1.96 为显著。"),
    gettext_noop("关键驱动因素：重要性 = 细项得分与结果题得分的 Pearson 相关系数，表现 = 细项满意度；十字线取两者的中位数。"),
    gettext_noop("加权数字按业主总体（楼盘 × 阶段）事后分层加权，区间按 Kish 有效样本量计算；未开启加权的调查不显示。"),
    gettext_noop("页面数字四舍五入到百分比的一位小数；存储与导出的数字不取整。报告只读取已计算的快照，不重新计算。"),
]
