"""Dashboard pages, their JSON endpoints and the score-card export. Thin: read filters, check scope, call panels."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.versions import DATA, SCOPE, versions_read
from dashboards import panels as P
from dashboards.selectors import (
    SliceFilter,
    dashboard_ports_for,
    dashboard_projects,
    dashboard_survey,
    dashboard_surveys,
    dashboard_targets,
    dashboard_user_may_enter,
    port_name,
    project_list_rows,
    question_labels,
)
from dashboards.todo import todo_for
from departments.ports import PORTS
from departments.selectors import user_sees_company_wide
from feedback.selectors import feedback_port_version
from feedback.themes import port_theme_version
from owners.stages import Stage
from satisfaction.exports import scorecard_xlsx
from satisfaction.selectors import headline_snapshot, metric_run_state, port_snapshots_for_user
from surveys.selectors import survey_latest


class FilterForm(forms.Form):
    survey = forms.CharField(required=False, max_length=64)
    project = forms.CharField(required=False, max_length=32)
    stage = forms.ChoiceField(required=False, choices=[("", ""), *Stage.choices],
                              error_messages={"invalid_choice": gettext_lazy("未知的业主阶段“%(value)s”")})


@dataclass
class Filters:
    survey: object
    surveys: list
    projects: list
    chosen: SliceFilter

    def query(self, **override) -> str:
        params = {
            "survey": self.survey.code if self.survey else "",
            "project": self.chosen.project.code if self.chosen.project else "",
            "stage": self.chosen.stage,
        } | override
        return urlencode({k: v for k, v in params.items() if v})


class BadFilter(Exception):
    def __init__(self, messages: list[str]):
        self.messages = messages


def _scope(request) -> list[str]:
    """The ports the user may see; refuse users who may see no dashboard at all."""
    if not dashboard_user_may_enter(request.user):
        raise PermissionDenied(_("您没有查看满意度看板的权限。"))
    return dashboard_ports_for(request.user)


def _filters(request, *, project_code: str | None = None) -> Filters:
    form = FilterForm(request.GET)
    if not form.is_valid():
        raise BadFilter([str(e) for errors in form.errors.values() for e in errors])
    surveys = dashboard_surveys()
    projects = dashboard_projects()
    code = form.cleaned_data["survey"]
    survey = dashboard_survey(code=code, surveys=surveys)
    problems = []
    if code and survey is None:
        problems.append(_("未找到调查“%(code)s”。") % {"code": code})
    project_code = project_code or form.cleaned_data["project"]
    project = next((p for p in projects if p.code == project_code), None) if project_code else None
    if project_code and project is None:
        problems.append(_("未找到楼盘“%(code)s”。") % {"code": project_code})
    if problems:
        raise BadFilter(problems)
    return Filters(survey, surveys, projects, SliceFilter(project, form.cleaned_data["stage"]))


def _bad_filter(request, exc: BadFilter):
    return render(request, "dashboards/bad_filter.html", {"problems": exc.messages}, status=404)


def _bad_filter_json(exc: BadFilter):
    return JsonResponse({"errors": exc.messages}, status=404)


def _state_json(survey) -> dict:
    state = metric_run_state(survey=survey) if survey else {"computed_at": None, "pending": False}
    return {
        "survey": survey.code if survey else None,
        "computed_at": state["computed_at"].isoformat() if state["computed_at"] else None,
        "pending": state["pending"],
    }


# --- Rendered panels, cached under a key that names everything they show ----------------------------------------
#
# Rendering the panels is most of a page's cost, and the same panels are asked for again and again between two
# recomputes. The key holds every input of the panels: the snapshot version of every survey (a recompute rewrites
# all of a survey's rows with one new ``computed_at``), the survey and project names, the question labels, the
# targets, the user's visible ports, the slice and the language. When any of them changes the key changes, so a
# cached entry is never shown after its inputs moved on: nothing goes stale, old keys simply age out.
# (The fill state — "更新中" and when the numbers were computed — and the per-user parts of the page are not cached.)

CACHE_SECONDS = 3600


@functools.cache
def _code_version() -> str:
    """A digest of the code that renders the panels, so that a deploy never serves fragments of the old code
    from a shared cache."""
    here = Path(__file__).resolve().parent
    sources = [
        here / "panels.py",
        here / "selectors.py",
        here / "templatetags" / "dashboard_tags.py",
        *sorted((settings.BASE_DIR / "templates" / "dashboards").rglob("*.html")),
    ]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def _panels_bundle(kind: str, filters: Filters, key_parts: tuple, build: Callable[[], list[dict]]) -> dict:
    """{"html": the panels rendered, "charts": their chart data}, from the cache or built now."""
    survey = filters.survey
    parts = (
        kind,
        get_language(),
        survey.pk,
        filters.chosen.project_id,
        filters.chosen.stage,
        tuple((s.pk, s.code, s.name, s.starts_on, s.snapshot_at, s.series_id, s.series.name) for s in filters.surveys),
        tuple((p.pk, p.code, p.name) for p in filters.projects),
        key_parts,
    )
    key = f"dashboards:{_code_version()}:{kind}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"
    bundle = cache.get(key)
    if bundle is None:
        panels = build()
        html = render_to_string("dashboards/_panels.html", {"panels": panels, "survey": survey, "query": filters.query()})
        bundle = {"html": html, "charts": P.charts_of(panels)}
        cache.set(key, bundle, CACHE_SECONDS)
    return bundle | {"key": key}


# --- The page body, cached too; the shell around it is rendered per request ---------------------------------------
#
# Past the panels, the rest of a dashboard page (heading, filters, "computed at" line, the feedback panel) is
# rendered again on every request, as is the navbar. The body is the same for everybody who sees the same ports
# with the same filters, so it is rendered once against a bare parent (``_bare.html``: no navbar, no user, no
# CSRF token) and cached under a key that names its inputs: the panels' key (which already names the snapshot
# version of every survey, the targets, labels, slice, language and the user's ports), the fill state (the
# "更新中" badge and the computed-at time), the path, and what the caller adds (the feedback state for the port page,
# the visible ports for the overview). The per-request shell (``_shell.html``: navbar, username, CSRF token,
# messages) is rendered around it every time. Never keyed on the user id: heads of one department share entries,
# and a user with other ports gets another key. The short TTL bounds what no key can name (a project's unit count
# in the feedback panel).

BODY_SECONDS = 60
_BODY_MARK = "<!--csm-body-->"


def _page_body(request, template: str, context: dict, key_parts: tuple) -> tuple[str, str]:
    key = "dashboards:body:" + hashlib.sha256(repr((_code_version(), get_language(), request.path, key_parts))
                                              .encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        html = render_to_string(template, context | {"base_template": "dashboards/_bare.html"}, request=request)
        title, _mark, body = html.partition(_BODY_MARK)
        cached = (title.strip(), body)
        cache.set(key, cached, BODY_SECONDS)
    return cached


# --- The whole page and its JSON, cached under the data version: a hit runs no dashboard query at all ---------------
#
# ``core.versions.DATA`` moves in the transaction of every change a dashboard shows (dashboards/receivers.py), so
# a page rendered under one value stays right until the value moves. The key names the path with its query, the
# language, the reader's scope (company-wide or not, the ports they see: never the user id, so readers with the
# same scope share entries) and the code. A hit reads the versions (one query, shared with the cached sign-in),
# takes the body and this user's shell from the cache, and puts the CSRF token in: no dashboard query, no
# template rendered. The TTL bounds what no signal names (a project's owner count in the feedback panel).

PAGE_SECONDS = 60
SHELL_SECONDS = 600
_TITLE, _BODY, _CSRF = "csm-7e1d-title", "csm-7e1d-body", "csm-7e1d-csrf"
WARM_REGISTRY = "dashboards:warm:registry"
WARM_LIMIT = 16


def _reader_scope(user) -> tuple:
    return (user_sees_company_wide(user), tuple(dashboard_ports_for(user)))


def _fast_key(request, kind: str) -> str:
    parts = (kind, _code_version(), get_language(), request.get_full_path(), _reader_scope(request.user),
             versions_read(request).get(DATA))
    return f"dashboards:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _shell_key(request) -> str:
    parts = (_code_version(), get_language(), request.get_full_path(), request.user.pk,
             versions_read(request).get(SCOPE))
    return "dashboards:shell:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def _has_messages(request) -> bool:
    from django.contrib.messages import get_messages

    return bool(get_messages(request))


def _shell(request, key: str | None, found: str | None = None) -> str:
    """This user's page around placeholders for the title, the body and the CSRF token."""
    if found is not None:
        return found
    html = render_to_string("dashboards/_shell.html",
                            {"page_title": _TITLE, "page_body": _BODY, "csrf_token": _CSRF}, request=request)
    if key is not None:
        cache.set(key, html, SHELL_SECONDS)
    return html


def _fill(shell: str, request, title: str, body: str) -> str:
    from django.middleware.csrf import get_token

    return shell.replace(_CSRF, get_token(request)).replace(_TITLE, title).replace(_BODY, body)


def _remember_for_warming(request, kind: str) -> None:
    """The page or JSON just rendered cold, so that the next recompute renders it again right away."""
    registry = cache.get(WARM_REGISTRY) or {}
    entry = (kind, request.get_full_path(), get_language(), request.user.pk)
    registry.pop(_reader_scope(request.user) + entry[:3], None)
    registry[_reader_scope(request.user) + entry[:3]] = entry
    while len(registry) > WARM_LIMIT:
        registry.pop(next(iter(registry)))
    cache.set(WARM_REGISTRY, registry, None)


def cached_page(view):
    """A dashboard page from the page cache when it is there (see above); rendered and stored otherwise."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "htmx", False) or not dashboard_user_may_enter(request.user):
            return view(request, *args, **kwargs)
        key, shell_key = _fast_key(request, "page"), _shell_key(request)
        found = cache.get_many([key, shell_key])
        page = found.get(key)
        if page is not None and not _has_messages(request):
            return HttpResponse(_fill(_shell(request, shell_key, found.get(shell_key)), request, *page))
        request._csm_page_key = key
        return view(request, *args, **kwargs)

    return wrapper


def cached_json(view):
    """A dashboard's JSON from the cache when it is there; stored when it answered 200."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not dashboard_user_may_enter(request.user):
            return view(request, *args, **kwargs)
        key = _fast_key(request, "json")
        content = cache.get(key)
        if content is not None:
            return HttpResponse(content, content_type="application/json")
        response = view(request, *args, **kwargs)
        if response.status_code == 200:
            cache.set(key, response.content, PAGE_SECONDS)
            _remember_for_warming(request, "json")
        return response

    return wrapper


def _page(request, template: str, filters: Filters, extra: dict, *, cache_parts: tuple | None = None) -> HttpResponse:
    """The page; with ``cache_parts`` (every input of ``extra`` the filters do not already name) its body comes
    from the body cache and only the shell is rendered now."""
    survey = filters.survey
    state = metric_run_state(survey=survey) if survey else None
    context = {
        "survey": survey,
        "surveys": filters.surveys,
        "projects": filters.projects,
        "stages": Stage.choices,
        "chosen": filters.chosen,
        "slice_label": P.slice_label(filters.chosen),
        "query": filters.query(),
        "state": state,
    } | extra
    if cache_parts is None or getattr(request, "htmx", False):
        return render(request, template, context)
    key_parts = (
        survey.pk if survey else None,
        filters.chosen.project_id,
        filters.chosen.stage,
        tuple((s.pk, s.code, s.name, s.starts_on, s.snapshot_at, s.series_id, s.series.name) for s in filters.surveys),
        tuple((p.pk, p.code, p.name) for p in filters.projects),
        (state["computed_at"], state["pending"]) if state else None,
        filters.query(),
        cache_parts,
    )
    title, body = _page_body(request, template, context, key_parts)
    page_key = getattr(request, "_csm_page_key", None)
    if page_key is not None:
        cache.set(page_key, (title, body), PAGE_SECONDS)
        _remember_for_warming(request, "page")
    if _has_messages(request):
        return render(request, "dashboards/_shell.html", {"page_title": mark_safe(title), "page_body": mark_safe(body)})
    return HttpResponse(_fill(_shell(request, _shell_key(request)), request, title, body))


# --- Company overview ---------------------------------------------------------------------------------------------


def _overview_bundle(filters: Filters, ports: list[str]) -> dict:
    if filters.survey is None:
        return {"html": "", "charts": {}}
    targets = dashboard_targets(survey=filters.survey)
    # The drivers of headline satisfaction are every port's detail items: shown only to who sees every port.
    labels = question_labels(survey=filters.survey) if set(ports) == set(PORTS) else None
    return _panels_bundle("overview", filters, (tuple(ports), repr(targets), repr(labels)), lambda: P.overview_panels(
        survey=filters.survey, surveys=filters.surveys, ports=ports, chosen=filters.chosen, targets=targets,
        labels=labels,
    ))


@require_GET
@cached_page
def overview(request):
    ports = _scope(request)
    try:
        filters = _filters(request)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    bundle = _overview_bundle(filters, ports)
    company_wide = user_sees_company_wide(request.user)
    return _page(request, "dashboards/overview.html", filters, {
        "panels_html": bundle["html"],
        "ports": [(code, port_name(code)) for code in ports],
        "company_wide": company_wide,
        "data_url": reverse("dashboards:overview_data") + "?" + filters.query(),
    }, cache_parts=(bundle.get("key"), tuple(ports), company_wide))


@require_GET
@cached_json
def overview_data(request):
    ports = _scope(request)
    try:
        filters = _filters(request)
    except BadFilter as exc:
        return _bad_filter_json(exc)
    return JsonResponse(_state_json(filters.survey) | {"charts": _overview_bundle(filters, ports)["charts"]})


# --- Port dashboard -----------------------------------------------------------------------------------------------


def _port(request, port: str) -> None:
    if port not in PORTS:
        raise Http404(_("未知端口“%(port)s”。") % {"port": port})
    if port not in _scope(request):
        raise PermissionDenied(_("您所在的部门不负责也不监控该端口。"))


def _port_bundle(filters: Filters, port: str) -> dict:
    if filters.survey is None:
        return {"html": "", "charts": {}}
    targets = dashboard_targets(survey=filters.survey)
    labels = question_labels(survey=filters.survey)
    return _panels_bundle("port", filters, (port, repr(targets), repr(labels)), lambda: P.port_panels(
        survey=filters.survey, surveys=filters.surveys, port=port, chosen=filters.chosen, targets=targets,
        labels=labels,
    ))


@require_GET
@cached_page
def port_dashboard(request, port: str):
    _port(request, port)
    try:
        filters = _filters(request)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    bundle = _port_bundle(filters, port)
    # The feedback panel in the body: its own state (scope is settled: _port let the user see this port).
    feedback = feedback_port_version(port=port)
    themes = port_theme_version(port=port)  # the comments themselves move the data version
    return _page(request, "dashboards/port.html", filters, {
        "port": port,
        "port_label": port_name(port),
        "panels_html": bundle["html"],
        "data_url": reverse("dashboards:port_data", args=[port]) + "?" + filters.query(),
    }, cache_parts=(bundle.get("key"), port, feedback, themes))


@require_GET
@cached_json
def port_data(request, port: str):
    _port(request, port)
    try:
        filters = _filters(request)
    except BadFilter as exc:
        return _bad_filter_json(exc)
    return JsonResponse(_state_json(filters.survey) | {"charts": _port_bundle(filters, port)["charts"]})


# --- Project score cards ------------------------------------------------------------------------------------------


@require_GET
def project_list(request):
    """Every project's headline figures in one survey; ``?project=`` jumps to that project's score card."""
    _scope(request)
    try:
        filters = _filters(request)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    if filters.chosen.project is not None:
        url = reverse("dashboards:project", args=[filters.chosen.project.code])
        query = filters.query(project="")
        return redirect(f"{url}?{query}" if query else url)
    rows = project_list_rows(survey=filters.survey) if filters.survey else []
    # A weighted survey's rows carry n_eff: its weighted rates (加权) beside the plain ones.
    weighted = any(row.n_eff is not None for row in rows)
    return _page(request, "dashboards/project_list.html", filters, {"rows": rows, "weighted": weighted})


def _scorecard_panels(filters: Filters, ports: list[str], labels: dict) -> list[dict]:
    return P.scorecard_panels(survey=filters.survey, ports=ports, chosen=filters.chosen, labels=labels)


def _scorecard_bundle(filters: Filters, ports: list[str]) -> dict:
    if filters.survey is None:
        return {"html": "", "charts": {}}
    labels = question_labels(survey=filters.survey)
    return _panels_bundle("scorecard", filters, (tuple(ports), repr(labels)),
                          lambda: _scorecard_panels(filters, ports, labels))


@require_GET
@cached_page
def project_scorecard(request, code: str):
    ports = _scope(request)
    try:
        filters = _filters(request, project_code=code)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    project = filters.chosen.project
    query = filters.query(project="")
    bundle = _scorecard_bundle(filters, ports)
    return _page(request, "dashboards/project.html", filters, {
        "project": project,
        "panels_html": bundle["html"],
        "query": query,
        "data_url": reverse("dashboards:project_data", args=[project.code]) + "?" + query,
        "export_url": reverse("dashboards:project_xlsx", args=[project.code]) + ("?" + query if query else ""),
    }, cache_parts=(bundle.get("key"), tuple(ports), query))


@require_GET
@cached_json
def project_data(request, code: str):
    ports = _scope(request)
    try:
        filters = _filters(request, project_code=code)
    except BadFilter as exc:
        return _bad_filter_json(exc)
    return JsonResponse(_state_json(filters.survey) | {"charts": _scorecard_bundle(filters, ports)["charts"]})


@require_GET
def project_xlsx(request, code: str):
    ports = _scope(request)
    try:
        filters = _filters(request, project_code=code)
    except BadFilter as exc:
        return _bad_filter(request, exc)
    if filters.survey is None:
        return _bad_filter(request, BadFilter([_("还没有调查数据，无法导出得分卡。")]))
    project = filters.chosen.project
    panels = _scorecard_panels(filters, ports, question_labels(survey=filters.survey))
    state = metric_run_state(survey=filters.survey)
    content = scorecard_xlsx(
        sections=P.scorecard_sections(panels),
        project_code=project.code,
        project_name=project.name,
        survey_code=filters.survey.code,
        survey_name=filters.survey.name,
        slice_note=P.slice_label(SliceFilter(None, filters.chosen.stage)),
        computed_at=state["computed_at"],
    )
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    # Codes are free text: keep the name to characters that need no quoting.
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", f"scorecard-{project.code}-{filters.survey.code}") + ".xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


@login_required
def home(request):
    survey = survey_latest()
    now = timezone.now()
    context = {"survey": survey, "todo": todo_for(user=request.user, today=timezone.localdate(now), now=now)}
    if survey is not None:
        context |= {
            "headline": headline_snapshot(survey=survey),
            "ports": port_snapshots_for_user(survey=survey, user=request.user),
            "state": metric_run_state(survey=survey),
        }
    return render(request, "home.html", context)
