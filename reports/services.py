"""Rendering the report pack and the project score card to PDF (``core.pdf``: WeasyPrint, fonts embedded)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.pdf import render_pdf
from core.versions import DATA, SCOPE, versions_read
from dashboards import panels as P
from dashboards.selectors import SliceFilter, question_labels
from feedback.models import FeedbackKind
from feedback.selectors import feedback_port_version
from feedback.themes import LOW_SCORE_MAX, port_theme_version
from reports.charts import chart_svg
from reports.selectors import NUMBER_RULES, ReportPack, overdue_tickets, pack_ports_for, report_pack
from satisfaction.selectors import metric_run_state
from surveys.models import Survey


def safe_filename(stem: str, suffix: str) -> str:
    """Codes are free text: keep a download's name to characters that need no quoting."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", stem) + suffix


def pack_pdf_render(*, pack: ReportPack) -> bytes:
    footer = _("满意度报告包 · %(survey)s") % {"survey": pack.survey.name}
    return render_pdf("reports/pack.html", {
        "pack": pack,
        "rules": [_(rule) for rule in NUMBER_RULES],
        "feedback_kinds": FeedbackKind.choices,
        "low_max": LOW_SCORE_MAX,
        "footer": footer.replace('"', "'"),
    })


def report_pack_pdf(*, user, survey: Survey, now: datetime | None = None, only_port: str | None = None) -> bytes:
    """The wave's report pack for this user's scope as PDF bytes."""
    pack = report_pack(user=user, survey=survey, now=now or timezone.now(), only_port=only_port)
    return pack_pdf_render(pack=pack)


# A pack takes seconds to draw; asked again before anything it shows changed, the same bytes are served. The key
# names every input: the ``data`` version (snapshots, surveys, plans, feedback saves: ``dashboards.receivers``), the
# ``scope`` version, each port's feedback state (bulk feedback imports send no save signal) and theme lexicon's
# state (the comments themselves move the data version), the overdue follow-up tickets it lists (they become
# overdue as time passes and follow-up saves move no version), the reader (plans are
# read as they may see them), the wave, the port asked for and the language.
PACK_SECONDS = 3600


def report_pack_pdf_cached(*, user, survey: Survey, only_port: str | None = None) -> bytes:
    ports = pack_ports_for(user, only=only_port)  # refuses before anything is looked up
    versions = versions_read()
    parts = (versions.get(DATA), versions.get(SCOPE), user.pk, survey.pk, only_port, get_language(),
             tuple((port, feedback_port_version(port=port), port_theme_version(port=port)) for port in ports),
             tuple((t.pk, t.status, t.escalation, t.summary) for t in overdue_tickets(user=user, ports=ports,
                                                                                    now=timezone.now())))
    key = "reports:pack:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    content = cache.get(key)
    if content is None:
        content = report_pack_pdf(user=user, survey=survey, only_port=only_port)
        cache.set(key, content, PACK_SECONDS)
    return content


def scorecard_pdf(*, survey: Survey, project, ports: list[str], stage: str = "", now: datetime | None = None) -> bytes:
    """A project's score card (the page's and the xlsx's panels) as PDF bytes."""
    chosen = SliceFilter(project, stage)
    panels = {
        panel["table_id"].replace("-", "_"): panel
        for panel in P.scorecard_panels(survey=survey, ports=ports, chosen=chosen, labels=question_labels(survey=survey))
    }
    charts = {
        "matrix": chart_svg(panels["scorecard_table"]["chart"], height=2.6),
        "items": chart_svg(panels["item_table"]["chart"], height=1.9),
    }
    footer = _("楼盘得分卡 · %(project)s · %(survey)s") % {"project": project.name, "survey": survey.name}
    return render_pdf("reports/scorecard.html", {
        "survey": survey,
        "project": project,
        "panels": panels,
        "charts": charts,
        "slice_label": P.slice_label(SliceFilter(None, stage)),
        "computed_at": metric_run_state(survey=survey)["computed_at"],
        "generated_at": now or timezone.now(),
        "rules": [_(rule) for rule in NUMBER_RULES],
        "footer": footer.replace('"', "'"),
    })
