"""Charts for the PDFs, drawn server-side with matplotlib (Agg, Noto Sans CJK) from the same chart dicts the
dashboards' JavaScript draws (``dashboards.panels``: ``bar``, ``line``, ``quadrant``), returned as data URLs.

Only ``matplotlib.figure.Figure`` is used (no pyplot state), so concurrent renders do not share a figure.
"""

from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "DejaVu Sans"]
PALETTE = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545", "#20c997", "#6c757d", "#d63384"]
GREY = "#adb5bd"


def _style() -> dict:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    family = [name for name in CJK_FONTS if name in installed] or ["DejaVu Sans"]
    # Text as paths: the chart needs no font in the PDF, and its labels stay out of the PDF's text layer (the
    # tables beside each chart carry the figures).
    return {"font.family": family, "font.size": 8, "svg.fonttype": "path", "axes.unicode_minus": False}


MIME = {"svg": "image/svg+xml", "png": "image/png"}
# PNG at print resolution: WeasyPrint lays out a page of PNGs several times faster than the same charts as SVG
# (CJK labels become hundreds of glyph paths each), and 150 dpi reads well on paper.
FORMAT = "png"
DPI = 150


def _data_url(figure: Figure, fmt: str) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, bbox_inches="tight", dpi=DPI)
    return f"data:{MIME[fmt]};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value) -> float:
    return math.nan if value is None else float(value)


def _bar(chart: dict, figure: Figure) -> None:
    axes = figure.add_subplot()
    categories = chart.get("categories", [])
    series = chart.get("series", [])
    horizontal = chart.get("horizontal", False)
    count = max(len(series), 1)
    width = 0.8 / count
    positions = list(range(len(categories)))
    too_few = chart.get("too_few") or [False] * len(categories)
    for index, one in enumerate(series):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        values = [_number(v) for v in one.get("data", [])]
        colours = [GREY if count == 1 and few else PALETTE[index % len(PALETTE)] for few in too_few] if count == 1 \
            else PALETTE[index % len(PALETTE)]
        draw = axes.barh if horizontal else axes.bar
        draw(offsets, values, width * 0.9, color=colours, label=one.get("name", ""))
        intervals = chart.get("intervals") if count == 1 else None
        if intervals:
            for offset, value, interval in zip(offsets, values, intervals):
                low, high = interval
                if low is None or high is None or math.isnan(value):
                    continue
                error = [[max(0.0, value - low)], [max(0.0, high - value)]]
                if horizontal:
                    axes.errorbar([value], [offset], xerr=error, fmt="none", ecolor="#212529", capsize=2, lw=0.8)
                else:
                    axes.errorbar([offset], [value], yerr=error, fmt="none", ecolor="#212529", capsize=2, lw=0.8)
    for position, target in zip(positions, chart.get("targets") or []):
        if target is not None:
            axes.hlines(target, position - 0.45, position + 0.45, colors="#dc3545", linestyles="dashed", lw=1)
    if horizontal:
        axes.set_yticks(positions, categories)
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("%")
    else:
        axes.set_xticks(positions, categories, rotation=30 if len(categories) > 5 else 0, ha="right" if len(categories) > 5 else "center")
        axes.set_ylim(0, 100)
        axes.set_ylabel("%")
    if count > 1:
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axes.grid(axis="x" if horizontal else "y", alpha=0.3)


def _line(chart: dict, figure: Figure) -> None:
    axes = figure.add_subplot()
    categories = chart.get("categories", [])
    positions = list(range(len(categories)))
    for index, one in enumerate(chart.get("series", [])):
        values = [_number(v) for v in one.get("data", [])]
        colour = PALETTE[index % len(PALETTE)]
        axes.plot(positions, values, marker="o", color=colour, label=one.get("name", ""), lw=1.2, ms=3)
        for position, value, mark in zip(positions, values, one.get("marks", [])):
            if mark and not math.isnan(value):
                axes.annotate("▲" if mark == "up" else "▼", (position, value), textcoords="offset points",
                              xytext=(0, 5), ha="center", color="#198754" if mark == "up" else "#dc3545")
    axes.set_xticks(positions, categories, rotation=20, ha="right")
    axes.set_ylim(0, 100)
    axes.set_ylabel("%")
    axes.grid(axis="y", alpha=0.3)
    if chart.get("series"):  # beside the plot: with several series a legend inside covers the lines
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _quadrant(chart: dict, figure: Figure) -> None:
    axes = figure.add_subplot()
    points = chart.get("points", [])
    labels = chart.get("labels", {})
    for point in points:
        colour = "#dc3545" if point.get("concentrate") else "#0d6efd"
        axes.scatter([point["x"]], [point["y"]], color=colour, s=14)
        axes.annotate(point["name"], (point["x"], point["y"]), textcoords="offset points", xytext=(3, 3), fontsize=6)
    if chart.get("median_x") is not None:
        axes.axvline(chart["median_x"], color=GREY, ls="--", lw=0.8)
    if chart.get("median_y") is not None:
        axes.axhline(chart["median_y"], color=GREY, ls="--", lw=0.8)
    axes.set_xlabel(labels.get("x", ""))
    axes.set_ylabel(labels.get("y", ""))
    axes.grid(alpha=0.3)


DRAW = {"bar": _bar, "line": _line, "quadrant": _quadrant}


def chart_svg(chart: dict | None, *, width: float = 6.5, height: float = 2.6, fmt: str = FORMAT) -> str | None:
    """The chart as a data URL (``fmt`` png or svg, ``width`` × ``height`` inches), or None when it has nothing
    to draw."""
    if not chart:
        return None
    kind = chart.get("kind")
    if kind not in DRAW:
        raise ValueError(f"unknown chart kind {kind!r}")
    if kind == "quadrant" and not chart.get("points"):
        return None
    if kind != "quadrant" and not chart.get("categories"):
        return None
    with matplotlib.rc_context(_style()):
        figure = Figure(figsize=(width, height), dpi=100)
        DRAW[kind](chart, figure)
        return _data_url(figure, fmt)
