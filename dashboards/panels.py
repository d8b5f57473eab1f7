"""Dashboard panels: small functions that turn snapshot rows into one panel's context.

A panel is a dict with its ``template`` (under ``templates/dashboards/panels/``), a ``title``, the rows its
table shows and, when it has a chart, ``chart_id`` and ``chart`` (the data ``static/js/dashboards.js`` draws).
The HTML view renders the panels' tables; the page's JSON endpoint returns the same panels' charts, so a chart
and its table always show the same numbers. The ``*_panels`` functions assemble a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from dashboards.selectors import (
    SliceFilter,
    detail_items,
    key_drivers,
    pick,
    port_name,
    port_slice_rows,
    project_names,
    rows_by_project,
    rows_by_stage,
    scorecard_rows,
    slice_trends,
    stage_name,
    target_check,
)
from owners.stages import STAGES
from satisfaction.exports import ScorecardSection
from satisfaction.metrics.engine import CONCENTRATE, too_few
from surveys.models import Survey
from surveys.selectors import survey_order_key


def _pc(value: float | None) -> float | None:
    """A rate as a percentage for the charts (unrounded; the chart formats it)."""
    return None if value is None else value * 100.0


def _survey_label(survey: Survey) -> str:
    return survey.name if not survey.starts_on else f"{survey.name}（{survey.starts_on:%Y-%m}）"


def slice_label(chosen: SliceFilter) -> str:
    parts = []
    if chosen.project:
        parts.append(chosen.project.name)
    if chosen.stage:
        parts.append(stage_name(chosen.stage))
    return " · ".join(parts) if parts else _("全部楼盘 · 全部阶段")


@dataclass(frozen=True)
class Figure:
    """One headline figure: a rate with its interval and base, against a target."""

    label: str
    rate: float | None
    low: float | None
    high: float | None
    n: int
    target: object  # TargetCheck
    weighted: WeightedLine | None = None  # the same figure weighted to the owner population (加权), if weighted

    @property
    def too_few(self) -> bool:
        return too_few(self.n)


def _figure(label, rate, low, high, n, target, row=None, *, loyalty: bool = False) -> Figure:
    weighted = _weighted_line(label, row, loyalty=loyalty) if row is not None and row.n_eff is not None else None
    return Figure(label, rate, low, high, n or 0, target_check(low, high, target), weighted)


# --- Panels -------------------------------------------------------------------------------------------------------


def headline_panel(*, rows, chosen: SliceFilter, targets: dict) -> dict:
    """Headline satisfaction and loyalty of the chosen slice, each with its interval, against the company target."""
    row = pick(rows, port="", project_id=chosen.project_id, stage=chosen.stage)
    company = targets.get("company", {})
    figures = []
    if row is not None:
        figures = [
            _figure(_("总体满意度"), row.satisfaction_rate, row.satisfaction_ci_low, row.satisfaction_ci_high, row.n,
                    company.get("satisfaction"), row),
            _figure(_("忠诚度"), row.loyalty_rate, row.loyalty_ci_low, row.loyalty_ci_high, row.loyalty_base,
                    company.get("loyalty"), row, loyalty=True),
        ]
    return {"template": "dashboards/panels/figures.html", "title": _("核心指标"), "table_id": "headline-table",
            "figures": figures}


def port_figure_panel(*, rows, port: str, chosen: SliceFilter, targets: dict) -> dict:
    """The port's satisfaction in the chosen slice, with its interval, against the port's target."""
    row = pick(rows, port=port, project_id=chosen.project_id, stage=chosen.stage)
    figures = []
    if row is not None:
        figures = [
            _figure(_("%(port_label)s满意度") % {"port_label": port_name(port)}, row.satisfaction_rate, row.satisfaction_ci_low,
                    row.satisfaction_ci_high, row.n, targets.get("ports", {}).get(port), row)
        ]
    return {"template": "dashboards/panels/figures.html", "title": _("端口满意度与目标"), "table_id": "port-headline",
            "figures": figures, "mean_score": row.mean_score if row else None}


def ports_panel(*, rows, ports: list[str], chosen: SliceFilter, targets: dict) -> dict:
    """Each visible port's satisfaction in the chosen slice against its target."""
    port_targets = targets.get("ports", {})
    lines = []
    for port in ports:
        row = pick(rows, port=port, project_id=chosen.project_id, stage=chosen.stage)
        if row is None:
            continue
        lines.append({"port": port, "label": port_name(port), "row": row,
                      "target": target_check(row.satisfaction_ci_low, row.satisfaction_ci_high, port_targets.get(port))})
    chart = {
        "kind": "bar",
        "categories": [line["label"] for line in lines],
        "series": [{"name": _("满意度"), "data": [_pc(line["row"].satisfaction_rate) for line in lines]}],
        "intervals": [[_pc(line["row"].satisfaction_ci_low), _pc(line["row"].satisfaction_ci_high)] for line in lines],
        "targets": [_pc(line["target"].target) for line in lines],
        "too_few": [too_few(line["row"].n) for line in lines],
    }
    return {"template": "dashboards/panels/ports.html", "title": _("各端口满意度与目标"), "table_id": "port-table",
            "lines": lines, "chart_id": "ports", "chart": chart}


def stage_panel(*, rows, ports: list[str], chosen: SliceFilter, with_loyalty: bool) -> dict:
    """Satisfaction by lifecycle stage (headline "" and/or ports), for the chosen project or all."""
    columns = [{"port": port, "label": port_name(port)} for port in ports]
    lines = []
    for code in STAGES:
        cells = [pick(rows, port=port, project_id=chosen.project_id, stage=code) for port in ports]
        if not any(cells):
            continue
        headline = cells[ports.index("")] if "" in ports else None
        lines.append({"stage": code, "label": stage_name(code), "cells": cells,
                      "loyalty": headline if with_loyalty else None})
    series = [{"name": col["label"], "data": [_pc(line["cells"][i].satisfaction_rate) if line["cells"][i] else None
                                              for line in lines]} for i, col in enumerate(columns)]
    if with_loyalty:
        series.append({"name": _("忠诚度"), "data": [_pc(line["loyalty"].loyalty_rate) if line["loyalty"] else None
                                                  for line in lines]})
    chart = {"kind": "bar", "categories": [line["label"] for line in lines], "series": series}
    return {"template": "dashboards/panels/stages.html", "title": _("按业主阶段"), "table_id": "stage-table",
            "columns": columns, "lines": lines, "with_loyalty": with_loyalty, "chart_id": "stages", "chart": chart}


def projects_panel(*, rows, port: str, chosen: SliceFilter) -> dict:
    """The port's satisfaction in each project (same stage), highest first; n < 30 greyed."""
    found = rows_by_project(rows, port=port, stage=chosen.stage)
    chart = {
        "kind": "bar",
        "categories": [r.project.name for r in found],
        "series": [{"name": _("满意度"), "data": [_pc(r.satisfaction_rate) for r in found]}],
        "intervals": [[_pc(r.satisfaction_ci_low), _pc(r.satisfaction_ci_high)] for r in found],
        "too_few": [too_few(r.n) for r in found],
    }
    return {"template": "dashboards/panels/projects.html", "title": _("按楼盘"), "table_id": "project-table",
            "lines": found, "chart_id": "projects", "chart": chart}


def port_stage_panel(*, rows, port: str, chosen: SliceFilter) -> dict:
    """The port's satisfaction by lifecycle stage (for the chosen project or all)."""
    found = [(code, label, row) for code, label, row in rows_by_stage(rows, port=port, project_id=chosen.project_id) if row]
    chart = {
        "kind": "bar",
        "categories": [label for _code, label, _row in found],
        "series": [{"name": _("满意度"), "data": [_pc(row.satisfaction_rate) for _c, _l, row in found]}],
        "intervals": [[_pc(row.satisfaction_ci_low), _pc(row.satisfaction_ci_high)] for _c, _l, row in found],
        "too_few": [too_few(row.n) for _c, _l, row in found],
    }
    return {"template": "dashboards/panels/port_stages.html", "title": _("按业主阶段"), "table_id": "stage-table",
            "lines": found, "chart_id": "stages", "chart": chart}


def items_panel(*, items, title: str, limit: int | None = None) -> dict:
    """Detail items, weakest first: rate, interval, mean, n and the company figure beside them."""
    shown = items[:limit] if limit else items
    chart = {
        "kind": "bar",
        "horizontal": True,
        "categories": [i.label for i in shown],
        "series": [{"name": _("满意度"), "data": [_pc(i.row.satisfaction_rate) for i in shown]}],
        "too_few": [too_few(i.row.n) for i in shown],
    }
    return {"template": "dashboards/panels/items.html", "title": title, "table_id": "item-table",
            "items": shown, "chart_id": "items", "chart": chart}


def drivers_panel(*, drivers, outcome: str) -> dict:
    """Key drivers: importance (Pearson r with the outcome) against performance, crosshairs at the medians."""
    chart = {
        "kind": "quadrant",
        "points": [
            {"name": d.label, "x": d.row.importance, "y": _pc(d.row.performance), "concentrate": d.quadrant == CONCENTRATE}
            for d in drivers.items
            if d.row.importance is not None and d.row.performance is not None
        ],
        "median_x": drivers.median_importance,
        "median_y": _pc(drivers.median_performance),
        "labels": {"concentrate": _("重点改进区"), "x": _("重要性（与结果的相关系数）"), "y": _("表现（满意度 %）")},
    }
    return {"template": "dashboards/panels/drivers.html", "title": _("关键驱动因素（重要性–表现）"),
            "table_id": "driver-table", "drivers": drivers, "outcome": outcome, "chart_id": "drivers", "chart": chart}


def trend_panel(*, trends: dict, ports: list[str], survey: Survey | None = None) -> dict:
    """Every wave in order, one line per series (and measure), each point's change read against the previous wave
    of its own series, significant changes marked. With ``survey`` given (the overview) the chart draws the
    headline and loyalty of every series but the ports of that survey's series only (a dozen lines would be
    unreadable); the table lists every port's points, series by series."""
    surveys, series = [], []
    for port in ports:
        for point in trends.get(port, []):
            if point.survey not in surveys:
                surveys.append(point.survey)
            if point.survey.series not in series:
                series.append(point.survey.series)
    surveys.sort(key=survey_order_key)
    series.sort(key=lambda s: (s.position, s.code))
    several = len(series) > 1

    def name(measure: str, one_series) -> str:
        return f"{measure} · {one_series.name}" if several else measure

    lines, chart_series, hidden = [], [], []
    for port in ports:
        for one_series in series:
            points = [p for p in trends.get(port, []) if p.survey.series_id == one_series.pk]
            if not points:
                continue
            lines.append({"port": port, "label": port_name(port), "series": one_series, "points": points})
            if port and survey is not None and one_series.pk != survey.series_id:
                continue
            by_survey = {p.survey.pk: p for p in points}
            if port and several and survey is not None:
                hidden.append(name(port_name(port), one_series))  # shown on a click in the legend
            chart_series.append({
                "name": name(port_name(port), one_series),
                "data": [_pc(by_survey[s.pk].row.satisfaction_rate) if s.pk in by_survey else None for s in surveys],
                "marks": [by_survey[s.pk].direction if s.pk in by_survey else "" for s in surveys],
            })
            if port == "":
                chart_series.append({
                    "name": name(_("忠诚度"), one_series),
                    "data": [_pc(by_survey[s.pk].row.loyalty_rate) if s.pk in by_survey else None for s in surveys],
                    "marks": [by_survey[s.pk].loyalty_direction if s.pk in by_survey else "" for s in surveys],
                })
    chart = {"kind": "line", "categories": [_survey_label(s) for s in surveys], "series": chart_series,
             "hidden": hidden}
    return {"template": "dashboards/panels/trend.html", "title": _("历次调查趋势（按调查系列）"), "table_id": "trend-table",
            "wide": len(ports) > 1, "lines": lines, "with_loyalty": "" in ports, "chart_id": "trend", "chart": chart}


def scorecard_matrix_panel(*, rows, ports: list[str], chosen: SliceFilter) -> dict:
    """The project's headline, loyalty and port rates by stage, with the company figure (all projects) beside."""
    project_id = chosen.project_id
    lines = []
    for port in ["", *ports]:
        own = pick(rows, port=port, project_id=project_id, stage="")
        company = pick(rows, port=port, project_id=None, stage="")
        cells = [pick(rows, port=port, project_id=project_id, stage=code) for code in STAGES]
        label = port_name(port)
        lines.append({"port": port, "label": label, "measure": "satisfaction", "all": own, "cells": cells,
                      "company": company})
        if port == "":
            lines.append({"port": "", "label": _("忠诚度"), "measure": "loyalty", "all": own, "cells": cells,
                          "company": company})
    stage_columns = [{"stage": code, "label": stage_name(code)} for code in STAGES]

    def rate(row, measure):
        if row is None:
            return None
        return row.loyalty_rate if measure == "loyalty" else row.satisfaction_rate

    chart = {
        "kind": "bar",
        "categories": [line["label"] for line in lines],
        "series": [
            {"name": _("本楼盘"), "data": [_pc(rate(line["all"], line["measure"])) for line in lines]},
            {"name": _("公司整体"), "data": [_pc(rate(line["company"], line["measure"])) for line in lines]},
        ],
    }
    return {"template": "dashboards/panels/scorecard_matrix.html", "title": _("各项指标按业主阶段"),
            "table_id": "scorecard-table", "lines": lines, "stage_columns": stage_columns,
            "chart_id": "scorecard", "chart": chart}


@dataclass(frozen=True)
class WeightedLine:
    """One measure with its plain figure and, beside it, the figure weighted to the owner population (加权)."""

    label: str
    rate: float | None
    low: float | None
    high: float | None
    n: int
    weighted_rate: float | None
    weighted_low: float | None
    weighted_high: float | None
    n_eff: float | None

    @property
    def too_few(self) -> bool:
        return too_few(self.n)

    @property
    def weighted_too_few(self) -> bool:
        return self.n_eff is not None and too_few(self.n_eff)


def _weighted_line(label: str, row, *, loyalty: bool = False) -> WeightedLine:
    if loyalty:
        return WeightedLine(label, row.loyalty_rate, row.loyalty_ci_low, row.loyalty_ci_high, row.loyalty_base or 0,
                            row.weighted_loyalty_rate, row.weighted_loyalty_ci_low, row.weighted_loyalty_ci_high,
                            row.loyalty_n_eff)  # fmt: skip
    return WeightedLine(label, row.satisfaction_rate, row.satisfaction_ci_low, row.satisfaction_ci_high, row.n,
                        row.weighted_rate, row.weighted_ci_low, row.weighted_ci_high, row.n_eff)  # fmt: skip


def _measure_label(port: str) -> str:
    return port_name("") if port == "" else _("%(port_label)s满意度") % {"port_label": port_name(port)}


def weighted_panel(*, rows, ports: list[str], chosen: SliceFilter, by_project: bool = True) -> dict | None:
    """The chosen slice's figures weighted to the owner population (加权) beside the plain ones — headline
    satisfaction and loyalty ("" in ``ports``) and each port's satisfaction — with the Kish effective n and the
    Wilson interval at it; per project (same stage) for the first measure; and the cells of the population that
    nobody answered in (they drop out of the weighting) or whose respondents weigh nothing. None when the survey
    is not weighted (its snapshots carry no n_eff)."""
    lines, anchor = [], None
    for port in ports:
        row = pick(rows, port=port, project_id=chosen.project_id, stage=chosen.stage)
        if row is None or row.n_eff is None:
            continue
        anchor = anchor or row
        lines.append(_weighted_line(_measure_label(port), row))
        if port == "":
            lines.append(_weighted_line(_("忠诚度"), row, loyalty=True))
    if anchor is None:
        return None
    projects = []
    if by_project and chosen.project is None:
        projects = [
            (row.project, _weighted_line(row.project.name, row))
            for row in rows_by_project(rows, port=anchor.port, stage=chosen.stage)
            if row.n_eff is not None
        ]
    names = project_names(codes={c for c, _s in [*(anchor.weighted_missing_cells or []),
                                                 *(anchor.weighted_outside_cells or [])]})  # fmt: skip

    def cells(found) -> list[str]:
        return [f"{names.get(code, code)} · {stage_name(stage)}" for code, stage in found or []]

    return {"template": "dashboards/panels/weighted.html", "title": _("加权到业主总体"), "table_id": "weighted-table",
            "lines": lines, "projects": projects, "project_measure": _measure_label(anchor.port),
            "missing": cells(anchor.weighted_missing_cells), "outside": cells(anchor.weighted_outside_cells)}


# --- Pages --------------------------------------------------------------------------------------------------------


def overview_panels(*, survey: Survey, surveys: list[Survey], ports: list[str], chosen: SliceFilter,
                    targets: dict, labels: dict | None) -> list[dict]:
    """``labels`` given: also the drivers of headline satisfaction (every port's detail items, so only for
    readers who see every port)."""
    rows = port_slice_rows(survey=survey, ports=["", *ports], chosen=chosen)
    trends = slice_trends(surveys=surveys, ports=["", *ports], chosen=chosen)
    panels = [
        headline_panel(rows=rows, chosen=chosen, targets=targets),
        ports_panel(rows=rows, ports=ports, chosen=chosen, targets=targets),
        stage_panel(rows=rows, ports=["", *ports], chosen=chosen, with_loyalty=True),
        trend_panel(trends=trends, ports=["", *ports], survey=survey),
    ]
    weighted = weighted_panel(rows=rows, ports=["", *ports], chosen=chosen)
    if weighted is not None:
        panels.insert(2, weighted)
    if labels is not None:
        drivers = key_drivers(survey=survey, port="", project_id=chosen.project_id, labels=labels)
        panels.append(drivers_panel(drivers=drivers, outcome=port_name("")))
    return panels


def port_panels(*, survey: Survey, surveys: list[Survey], port: str, chosen: SliceFilter, targets: dict,
                labels: dict) -> list[dict]:
    rows = port_slice_rows(survey=survey, ports=[port], chosen=chosen)
    items = detail_items(survey=survey, ports=[port], chosen=chosen, labels=labels)
    drivers = key_drivers(survey=survey, port=port, project_id=chosen.project_id, labels=labels)
    trends = slice_trends(surveys=surveys, ports=[port], chosen=chosen)
    weighted = weighted_panel(rows=rows, ports=[port], chosen=chosen)
    return [
        port_figure_panel(rows=rows, port=port, chosen=chosen, targets=targets),
        *([weighted] if weighted is not None else []),
        projects_panel(rows=rows, port=port, chosen=chosen),
        port_stage_panel(rows=rows, port=port, chosen=chosen),
        # A weak item or a "concentrate here" driver starts an action item with its numbers (one click).
        items_panel(items=items, title=_("细项满意度（由弱到强）")) | {"start_items": True},
        drivers_panel(drivers=drivers, outcome=port_name(port)) | {"all_stages": bool(chosen.stage), "start_items": True, "port": port},
        trend_panel(trends=trends, ports=[port]),
    ]


WEAKEST_ITEMS = 5


def scorecard_panels(*, survey: Survey, ports: list[str], chosen: SliceFilter, labels: dict) -> list[dict]:
    """The project score card; ``chosen.stage`` narrows the weakest items to one stage."""
    rows = scorecard_rows(survey=survey, ports=["", *ports], project_id=chosen.project_id)
    items = detail_items(survey=survey, ports=ports, chosen=chosen, labels=labels)
    headline = scorecard_headline_panel(rows=rows, chosen=chosen)
    # The project's own figures over all its stages (the score card's rows are the project's and the company's).
    weighted = weighted_panel(rows=rows, ports=["", *ports], chosen=SliceFilter(chosen.project), by_project=False)
    return [
        headline,
        *([weighted] if weighted is not None else []),
        scorecard_matrix_panel(rows=rows, ports=ports, chosen=chosen),
        items_panel(items=items, title=_("最弱细项"), limit=WEAKEST_ITEMS) | {"start_items": True},
    ]


def scorecard_headline_panel(*, rows, chosen: SliceFilter) -> dict:
    """The project's headline satisfaction and loyalty against the company figure (all projects, all stages)."""
    own = pick(rows, port="", project_id=chosen.project_id, stage="")
    company = pick(rows, port="", project_id=None, stage="")
    lines = []
    for label, measure in ((_("总体满意度"), "satisfaction"), (_("忠诚度"), "loyalty")):
        rate, other = _rate_of(own, measure), _rate_of(company, measure)
        lines.append({
            "label": label,
            "measure": measure,
            "rate": rate,
            "low": getattr(own, f"{measure}_ci_low", None),
            "high": getattr(own, f"{measure}_ci_high", None),
            "n": _base_of(own, measure),
            "company": other,
            "gap": rate - other if rate is not None and other is not None else None,
        })
    return {"template": "dashboards/panels/scorecard_headline.html", "title": _("核心指标与公司对比"),
            "table_id": "scorecard-headline", "lines": lines}


def _rate_of(row, measure: str):
    if row is None:
        return None
    return row.loyalty_rate if measure == "loyalty" else row.satisfaction_rate


def _base_of(row, measure: str) -> int:
    if row is None:
        return 0
    return (row.loyalty_base or 0) if measure == "loyalty" else row.n


def scorecard_sections(panels: list[dict]) -> list[ScorecardSection]:
    """The score card's panels as export tables: the same rows, unrounded, with Chinese headers."""
    by_id = {panel["table_id"]: panel for panel in panels}
    sections = []
    headline = by_id.get("scorecard-headline")
    if headline:
        rows = [[x["label"], x["rate"], x["low"], x["high"], x["n"], x["company"], x["gap"]] for x in headline["lines"]]
        greyed = [[False, *([too_few(x["n"])] * 4), False, False] for x in headline["lines"]]
        sections.append(ScorecardSection(
            headline["title"],
            [_("指标"), _("本楼盘"), _("95%区间下限"), _("95%区间上限"), _("样本量"), _("公司整体"), _("与公司差值")],
            rows, ["", "pct", "pct", "pct", "int", "pct", "pct"], greyed,
        ))
    matrix = by_id.get("scorecard-table")
    if matrix:
        rows, greyed = [], []
        for line in matrix["lines"]:
            measure = line["measure"]
            cells = [line["all"], *line["cells"]]
            rows.append([line["label"], *[_rate_of(c, measure) for c in cells], _base_of(line["all"], measure),
                         _rate_of(line["company"], measure)])
            greyed.append([False, *[c is not None and too_few(_base_of(c, measure)) for c in cells], False, False])
        sections.append(ScorecardSection(
            matrix["title"],
            [_("指标"), _("全部阶段"), *[col["label"] for col in matrix["stage_columns"]], _("样本量"), _("公司整体")],
            rows, ["", "pct", "pct", "pct", "pct", "pct", "int", "pct"], greyed,
        ))
    weighted = by_id.get("weighted-table")
    if weighted:
        rows = [[x.label, x.rate, x.n, x.weighted_rate, x.weighted_low, x.weighted_high, x.n_eff]
                for x in weighted["lines"]]  # fmt: skip
        greyed = [[False, too_few(x.n), False, *([x.weighted_too_few] * 3), False] for x in weighted["lines"]]
        sections.append(ScorecardSection(
            weighted["title"],
            [_("指标"), _("未加权"), _("样本量"), _("加权"), _("加权区间下限"), _("加权区间上限"), _("有效样本量")],
            rows, ["", "pct", "int", "pct", "pct", "pct", "num"], greyed,
        ))
    items = by_id.get("item-table")
    if items:
        rows = [
            [i.label, i.port_label, i.row.satisfaction_rate, i.row.satisfaction_ci_low, i.row.satisfaction_ci_high,
             i.row.mean_score, i.row.n, i.company.satisfaction_rate if i.company else None]
            for i in items["items"]
        ]
        greyed = [[False, False, *([too_few(i.row.n)] * 5), False] for i in items["items"]]
        sections.append(ScorecardSection(
            items["title"],
            [_("细项"), _("端口"), _("满意度"), _("95%区间下限"), _("95%区间上限"), _("平均分"), _("样本量"), _("公司满意度")],
            rows, ["", "", "pct", "pct", "pct", "num", "int", "pct"], greyed,
        ))
    return sections


def charts_of(panels: list[dict]) -> dict:
    return {panel["chart_id"]: panel["chart"] for panel in panels if "chart_id" in panel}
