"""Reads for the dashboards and score cards: snapshot rows only, a few indexed queries per page.

Every query here is on a snapshot table and leads with ``survey`` (the unique constraints on the snapshot
tables start with it, so each is an index range scan). Nothing is cached: a page shows what the last
recompute wrote, and says when that was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext, gettext_noop

from departments.ports import port_label, ports_in_order
from departments.selectors import ports_visible_to, user_sees_company_wide
from owners.models import Project
from owners.stages import STAGES, stage_label
from satisfaction.metrics.engine import (
    CONCENTRATE,
    UNKNOWN_QUADRANT,
    ChangeTest,
    quadrant_medians,
    quadrant_of,
    target_status,
    two_proportion_change,
)
from satisfaction.models import DriverSnapshot, ItemSnapshot, MetricSnapshot
from surveys.models import Question, Survey
from surveys.selectors import survey_latest, survey_order_key, survey_year


def port_name(code: str) -> str:
    """The port's Chinese name; "" is the headline (总体满意度)."""
    return port_label(code) if code else gettext("总体满意度")


def stage_name(code: str) -> str:
    """The stage's Chinese name; "" is every stage (no label)."""
    return stage_label(code) if code else ""


# Marked for translation here, translated when shown (the active language is known only then).
TARGET_LABELS = {"met": gettext_noop("达标"), "missed": gettext_noop("未达标"), "undetermined": gettext_noop("不确定")}


# --- Scope --------------------------------------------------------------------------------------------------------


def dashboard_ports_for(user) -> list[str]:
    """The ports whose detail this user may see, in the procedure's order (design … property)."""
    return ports_in_order(ports_visible_to(user))


def dashboard_user_may_enter(user) -> bool:
    """Dashboards are for company-wide roles and for heads with at least one visible port."""
    return user_sees_company_wide(user) or bool(ports_visible_to(user))


# --- Surveys, projects, targets -----------------------------------------------------------------------------------


def dashboard_surveys() -> list[Survey]:
    """Every survey in the order of its period start (a survey without one by its creation date), each
    with its series and ``snapshot_at``: when its snapshots were last written (None before the first recompute).

    ``snapshot_at`` is the version of everything a dashboard shows of that survey: a recompute rewrites every
    snapshot row of the survey with one ``computed_at`` in one transaction. Two plain queries (one with three
    correlated subqueries costs more to compile than both together take).
    """
    surveys = sorted(
        Survey.objects.select_related("series").only(
            "id", "code", "name", "source", "starts_on", "ends_on", "created_at", "series__code", "series__name",
            "series__position",
        ),
        key=survey_order_key,
    )
    written = dict(
        MetricSnapshot.objects.filter(port="", project__isnull=True, stage="")
        .order_by()
        .values_list("survey_id", "computed_at")
    )
    for survey in surveys:
        survey.snapshot_at = written.get(survey.pk)
    return surveys


def dashboard_survey(*, code: str | None, surveys: list[Survey]) -> Survey | None:
    """The survey named by ``code`` (None if unknown), or the latest survey when no code is given."""
    if code:
        return next((s for s in surveys if s.code == code), None)
    latest = survey_latest()
    return next((s for s in surveys if latest is not None and s.pk == latest.pk), None)


def dashboard_projects() -> list[Project]:
    return list(Project.objects.order_by("code").only("id", "code", "name"))


def project_names(*, codes) -> dict[str, str]:
    """code → name of these projects (one query; none when no code is given)."""
    codes = set(codes)
    return dict(Project.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def _as_fraction(value) -> float | None:
    """Targets may be entered as 85 (percent) or 0.85; rates here are fractions."""
    if value is None:
        return None
    value = float(value)
    return value / 100.0 if value > 1 else value


def dashboard_targets(*, survey: Survey) -> dict:
    """Company and port targets of the survey's year from the improvement plans, or {} while there are none.

    Returns {"company": {"satisfaction": float|None, "loyalty": float|None}, "ports": {code: float|None}},
    every target a fraction (0.85), or {} when the improvement-plans app does not provide targets.
    """
    try:
        from improvement_plans.selectors import plan_targets
    except (ImportError, AttributeError):
        return {}
    try:
        raw = plan_targets(year=survey_year(survey), series_id=survey.series_id) or {}
    except (AttributeError, LookupError):
        return {}
    company = raw.get("company") or {}
    return {
        "company": {
            "satisfaction": _as_fraction(company.get("satisfaction")),
            "loyalty": _as_fraction(company.get("loyalty")),
        },
        "ports": {code: _as_fraction(value) for code, value in (raw.get("ports") or {}).items()},
    }


@dataclass(frozen=True)
class TargetCheck:
    target: float | None
    status: str  # met | missed | undetermined | none

    @property
    def label(self) -> str:
        return gettext("未设目标") if self.status == "none" else gettext(TARGET_LABELS[self.status])

    @property
    def css(self) -> str:
        return {"met": "success", "missed": "danger", "undetermined": "warning"}.get(self.status, "secondary")


def target_check(low: float | None, high: float | None, target: float | None) -> TargetCheck:
    if target is None:
        return TargetCheck(None, "none")
    ci = (low, high) if low is not None and high is not None else None
    return TargetCheck(target, target_status(ci, target))


# --- Slices of one survey -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceFilter:
    """The project × stage the reader chose (None / "" = all)."""

    project: Project | None = None
    stage: str = ""

    @property
    def project_id(self) -> int | None:
        return self.project.pk if self.project else None

    @property
    def stage_label(self) -> str:
        return stage_name(self.stage)


def _project_q(project_id: int | None, prefix: str = "") -> Q:
    if project_id is None:
        return Q(**{f"{prefix}project__isnull": True})
    return Q(**{f"{prefix}project_id": project_id})


def port_slice_rows(*, survey: Survey, ports: list[str], chosen: SliceFilter) -> list[MetricSnapshot]:
    """Snapshot rows of these ports ("" = headline) needed by a page: the chosen cell, its row across
    projects (same stage) and its column across stages (same project). One indexed query."""
    return list(
        MetricSnapshot.objects.filter(survey=survey, port__in=ports)
        .filter(_project_q(chosen.project_id) | Q(stage=chosen.stage))
        .select_related("project")
        .order_by("port", "project__code", "stage", "id")
    )


def scorecard_rows(*, survey: Survey, ports: list[str], project_id: int) -> list[MetricSnapshot]:
    """A project's rows of these ports (every stage) and the company rows (all projects, all stages)."""
    return list(
        MetricSnapshot.objects.filter(survey=survey, port__in=ports)
        .filter(Q(project_id=project_id) | Q(project__isnull=True, stage=""))
        .order_by("port", "stage", "id")
    )


def project_list_rows(*, survey: Survey) -> list[MetricSnapshot]:
    """Every project's headline row (all stages) in one survey, highest satisfaction first."""
    rows = list(
        MetricSnapshot.objects.filter(survey=survey, port="", stage="", project__isnull=False)
        .select_related("project")
        .order_by("project__code")
    )
    return sorted(rows, key=lambda r: (r.satisfaction_rate is None, -(r.satisfaction_rate or 0), r.project.code))


def pick(rows: list[MetricSnapshot], *, port: str, project_id: int | None, stage: str) -> MetricSnapshot | None:
    for row in rows:
        if row.port == port and row.project_id == project_id and row.stage == stage:
            return row
    return None


def rows_by_stage(rows: list[MetricSnapshot], *, port: str, project_id: int | None) -> list[tuple[str, str, MetricSnapshot | None]]:
    """(stage code, label, row or None) for every stage, in lifecycle order."""
    return [(code, stage_name(code), pick(rows, port=port, project_id=project_id, stage=code)) for code in STAGES]


def rows_by_project(rows: list[MetricSnapshot], *, port: str, stage: str) -> list[MetricSnapshot]:
    """Per-project rows of one port and stage, highest rate first (rows without a rate last)."""
    found = [r for r in rows if r.port == port and r.project_id is not None and r.stage == stage]
    return sorted(found, key=lambda r: (r.satisfaction_rate is None, -(r.satisfaction_rate or 0), r.project.code))


# --- Trend across surveys -----------------------------------------------------------------------------------------


@dataclass
class TrendPoint:
    survey: Survey
    row: MetricSnapshot
    change: ChangeTest | None = None
    loyalty_change: ChangeTest | None = None
    change_from: Survey | None = None  # the previous wave of the same series the change is read against
    loyalty_change_from: Survey | None = None

    @property
    def direction(self) -> str:
        return _direction(self.change)

    @property
    def loyalty_direction(self) -> str:
        return _direction(self.loyalty_change)


def _direction(change: ChangeTest | None) -> str:
    if change is None or not change.significant or change.z is None:
        return ""
    return "up" if change.z > 0 else "down"


def _mark_changes(points: list[TrendPoint], *, loyalty: bool) -> list[TrendPoint]:
    """Each point against the latest earlier point of its own series whose figure has a base (DESIGN §2 "Change");
    ``points`` are in wave order. A series' first point, and every point of a series without an earlier base,
    have no change."""
    last: dict[int, TrendPoint] = {}
    last_loyal: dict[int, TrendPoint] = {}
    for point in points:
        series = point.survey.series_id
        before = last.get(series)
        if before is not None and point.row.n:
            point.change = two_proportion_change(before.row.satisfied, before.row.n, point.row.satisfied, point.row.n)
            point.change_from = before.survey
        if point.row.n:
            last[series] = point
        if not loyalty:
            continue
        before = last_loyal.get(series)
        if before is not None and point.row.loyalty_base:
            point.loyalty_change = two_proportion_change(
                before.row.loyal or 0, before.row.loyalty_base, point.row.loyal or 0, point.row.loyalty_base
            )
            point.loyalty_change_from = before.survey
        if point.row.loyalty_base:
            last_loyal[series] = point
    return points


def slice_trends(*, surveys: list[Survey], ports: list[str], chosen: SliceFilter) -> dict[str, list[TrendPoint]]:
    """The chosen slice of each port ("" = headline) in every survey that has it, in wave order, each point
    marked against the previous wave of its own series by the unpooled two-proportion z-test (significant at
    |z| > 1.96). ``surveys`` in wave order (``dashboard_surveys``). One query, on the snapshot index."""
    rows = (
        MetricSnapshot.objects.filter(survey_id__in=[s.pk for s in surveys], port__in=ports, stage=chosen.stage)
        .filter(_project_q(chosen.project_id))
        .order_by("survey_id", "port")
    )
    found: dict[tuple[str, int], MetricSnapshot] = {(r.port, r.survey_id): r for r in rows}
    return {
        port: _mark_changes(
            [TrendPoint(s, found[(port, s.pk)]) for s in surveys if (port, s.pk) in found], loyalty=port == ""
        )
        for port in ports
    }


# --- Items and drivers --------------------------------------------------------------------------------------------


def question_labels(*, survey: Survey) -> dict[str, tuple[str, str, str]]:
    """code → (label, kind, port) for the survey's questions."""
    return {
        code: (label, kind, port)
        for code, label, kind, port in Question.objects.filter(survey=survey)
        .order_by("position")
        .values_list("code", "label", "kind", "port")
    }


@dataclass(frozen=True)
class ItemView:
    code: str
    label: str
    port: str
    row: ItemSnapshot
    company: ItemSnapshot | None = None

    @property
    def port_label(self) -> str:
        return port_name(self.port)


def _weakest_first(items: list[ItemView]) -> list[ItemView]:
    return sorted(
        items, key=lambda i: (i.row.satisfaction_rate is None, i.row.satisfaction_rate or 0, i.row.mean_score or 0, i.code)
    )


def detail_items(*, survey: Survey, ports: list[str], chosen: SliceFilter, labels: dict) -> list[ItemView]:
    """Rate and mean of every detail item of these ports in the chosen slice, weakest first; each with the
    company figure (all projects, same stage) beside it. One indexed query."""
    rows = ItemSnapshot.objects.filter(survey=survey, port__in=ports, stage=chosen.stage).filter(
        _project_q(chosen.project_id) | Q(project__isnull=True)
    )
    mine, company = {}, {}
    for row in rows:
        if labels.get(row.question_code, ("", "", ""))[1] != Question.Kind.DETAIL:
            continue
        if row.project_id == chosen.project_id:
            mine[row.question_code] = row
        if row.project_id is None:
            company[row.question_code] = row
    items = [
        ItemView(code, labels[code][0], labels[code][2], row, company.get(code))
        for code, row in mine.items()
        if row.n > 0
    ]
    return _weakest_first(items)


@dataclass(frozen=True)
class DriverView:
    code: str
    label: str
    row: DriverSnapshot
    quadrant: str

    @property
    def quadrant_label(self) -> str:
        return gettext(QUADRANT_LABELS[self.quadrant])


QUADRANT_LABELS = {
    CONCENTRATE: gettext_noop("重点改进区"),
    "keep_up": gettext_noop("优势保持区"),
    "low_priority": gettext_noop("次要改进区"),
    "overkill": gettext_noop("过度投入区"),
    UNKNOWN_QUADRANT: gettext_noop("数据不足"),
}


@dataclass
class DriverPanelData:
    items: list[DriverView] = field(default_factory=list)
    median_importance: float | None = None
    median_performance: float | None = None


def key_drivers(*, survey: Survey, port: str, project_id: int | None, labels: dict) -> DriverPanelData:
    """Importance–performance of the port's detail items ("" = drivers of headline satisfaction). One query."""
    rows = list(
        DriverSnapshot.objects.filter(survey=survey, port=port)
        .filter(_project_q(project_id))
        .order_by("question_code")
    )
    mi, mp = quadrant_medians([(r.importance, r.performance) for r in rows])
    views = [
        DriverView(r.question_code, labels.get(r.question_code, (r.question_code,))[0], r, quadrant_of(r.importance, r.performance, mi, mp))
        for r in rows
    ]
    views.sort(key=lambda v: (v.quadrant != CONCENTRATE, -(v.row.importance or -2), v.code))
    return DriverPanelData(views, mi, mp)
