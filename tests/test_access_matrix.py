"""Roles × departments × endpoints × methods: nobody sees another department's detail in any page, list, export or API.

Each port's feedback, plan and action item carries a marker text; a user who may not see that port must not find
its marker anywhere, and lists count only what they may see. Extend the tables below when pages are added.
"""

import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from departments.models import Department
from feedback.models import Feedback
from improvement_plans.models import ActionItem, ImprovementPlan
from tests.api_world import World, build_world, fresh, shared_world

pytestmark = pytest.mark.django_db

PORTS = ["design", "engineering", "sales", "service", "property"]
ALL = frozenset(PORTS)
# Who sees which ports (DESIGN §1; the seeded organisation: engineering monitors design).
VISIBLE = {
    "staff": ALL,
    "manager": ALL,
    "committee_member": ALL,
    "property_head": frozenset({"property"}),
    "engineering_head": frozenset({"engineering", "design"}),
    "marketing_head": frozenset({"sales"}),
}
HEADS = ["property_head", "engineering_head", "marketing_head"]
COMPANY_WIDE = ["staff", "manager", "committee_member"]
ROLES = COMPANY_WIDE + HEADS
DEPARTMENT_OF_PORT = {"design": "design", "engineering": "engineering", "sales": "marketing", "service": "brand_service", "property": "property"}


def marker(port: str, what: str) -> str:
    return f"标记-{what}-{port}-7f3a"


def build_matrix_world() -> World:
    world = build_world()
    world.feedback, world.plans, world.items = {}, {}, {}
    for port in PORTS:
        world.feedback[port] = Feedback.objects.create(
            kind="complaint", project=world.projects[0], port=port, received_on=date(2026, 3, 2),
            description=marker(port, "反馈"),
        )
        world.plans[port] = ImprovementPlan.objects.create(year=2026, port=port, directions=marker(port, "计划"))
        world.items[port] = ActionItem.objects.create(
            plan=world.plans[port], title=marker(port, "行动项"), measure_category="process_standards",
            responsible_department=Department.objects.get(code=DEPARTMENT_OF_PORT[port]),
        )
    return world


@pytest.fixture(scope="module", autouse=True)
def module_world(request, django_db_setup, django_db_blocker):
    yield from shared_world(request, django_db_blocker, build=build_matrix_world)


@pytest.fixture
def world(module_world, db):
    return fresh(module_world)


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def text_of(response) -> str:
    body = response.content
    if body[:2] == b"PK":
        workbook = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(str(v) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None)
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)  # labels readable, not \\u-escaped
    return body.decode("utf-8", errors="replace")


# --- pages and API addressed by port ----------------------------------------------------------------------------

PORT_URLS = [
    "/dashboards/ports/{port}/?survey=2026-annual",
    "/dashboards/ports/{port}/data.json?survey=2026-annual",
    "/feedback/ports/{port}/",
]


@pytest.mark.parametrize("role", ROLES)
def test_port_pages_answer_only_for_ports_the_role_may_see(world, role, request):
    client = client_for(request.getfixturevalue(role))
    wrong = []
    for template in PORT_URLS:
        for port in PORTS:
            status = client.get(template.format(port=port)).status_code
            expected_ok = port in VISIBLE[role]
            if (status == 200) != expected_ok or (not expected_ok and status not in (403, 404)):
                wrong.append((template.format(port=port), status))
    assert wrong == []


# --- objects addressed by id -------------------------------------------------------------------------------------

OBJECT_URLS = [
    ("feedback", "/feedback/{id}/"),
    ("feedback", "/api/v1/feedback/{id}/"),
    ("plans", "/plans/{id}/"),
    ("plans", "/api/v1/plans/{id}/"),
    ("items", "/plans/action-items/{id}/"),
    ("items", "/api/v1/action-items/{id}/"),
]


@pytest.mark.parametrize("role", ROLES)
def test_another_departments_feedback_plan_and_action_items_are_not_found(world, role, request):
    client = client_for(request.getfixturevalue(role))
    wrong = []
    for kind, template in OBJECT_URLS:
        for port in PORTS:
            obj = getattr(world, kind)[port]
            url = template.format(id=obj.pk)
            answer = client.get(url)
            if port in VISIBLE[role]:
                if answer.status_code != 200:
                    wrong.append((url, port, answer.status_code, "should answer"))
            elif answer.status_code not in (403, 404) or any(marker(port, w) in text_of(answer) for w in ("反馈", "计划", "行动项")):
                wrong.append((url, port, answer.status_code, "should refuse"))
    assert wrong == []


# --- lists and their counts --------------------------------------------------------------------------------------

LIST_URLS = ["/feedback/", "/plans/", "/", "/dashboards/", "/dashboards/projects/lake/?survey=2026-annual",
             "/dashboards/projects/lake/data.json?survey=2026-annual", "/dashboards/data.json?survey=2026-annual",
             "/dashboards/projects/lake/scorecard.xlsx?survey=2026-annual"]


@pytest.mark.parametrize("role", ROLES)
def test_no_list_page_or_export_names_another_departments_records(world, role, request):
    client = client_for(request.getfixturevalue(role))
    leaks = []
    for url in LIST_URLS:
        answer = client.get(url)
        if answer.status_code != 200:
            continue
        text = text_of(answer)
        for port in set(PORTS) - VISIBLE[role]:
            for what in ("反馈", "计划", "行动项"):
                if marker(port, what) in text:
                    leaks.append((url, port, what))
    assert leaks == []


@pytest.mark.parametrize("role", ROLES)
def test_api_list_counts_exclude_other_departments(world, role, request):
    client = client_for(request.getfixturevalue(role))
    visible = VISIBLE[role]
    feedback = client.get("/api/v1/feedback/?page_size=100").json()
    assert sorted(row["port"] for row in feedback["results"]) == sorted(visible)
    assert feedback["count"] == len(visible)
    plans = client.get("/api/v1/plans/?page_size=100").json()
    assert sorted(row["port"] for row in plans["results"]) == sorted(visible)
    items = client.get("/api/v1/action-items/?page_size=100").json()
    assert sorted(row["plan"] for row in items["results"]) == sorted(world.plans[p].pk for p in visible)


@pytest.mark.parametrize("role", ROLES)
def test_metric_rows_hold_the_headline_and_only_visible_ports(world, role, request):
    rows = client_for(request.getfixturevalue(role)).get("/api/v1/metrics/?survey=2026-annual").json()
    ports = {row["port"] for row in rows}
    assert None in ports
    assert ports - {None} == set(VISIBLE[role])


# --- role-gated endpoints, by method ----------------------------------------------------------------------------

# (method, url, roles allowed); everyone else gets 403 (or, for pages, 403/404).
ROLE_GATED = [
    ("get", "/api/v1/owners/", ["staff"]),
    ("get", "/api/v1/responses/", COMPANY_WIDE),
    ("get", "/api/v1/imports/", ["staff"]),
    ("post", "/api/v1/owners/", ["staff"]),
    ("post", "/api/v1/responses/", ["staff"]),
    ("post", "/api/v1/surveys/", ["staff"]),
    ("post", "/api/v1/feedback/", ["staff"]),
    ("post", "/api/v1/imports/", ["staff"]),
    ("get", "/owners/", ["staff"]),
    ("get", "/surveys/entry/", ["staff"]),
    ("get", "/surveys/imports/new/", ["staff"]),
    ("get", "/feedback/new/", ["staff"]),
    ("get", "/feedback/import/", ["staff"]),
]


@pytest.mark.parametrize("method, url, allowed", ROLE_GATED, ids=[f"{m} {u}" for m, u, _ in ROLE_GATED])
def test_role_gated_endpoints_refuse_everyone_else(world, method, url, allowed, request):
    wrong = []
    for role in ROLES:
        client = client_for(request.getfixturevalue(role))
        answer = getattr(client, method)(url, {}, format="json") if method != "get" else client.get(url)
        if role in allowed:
            if answer.status_code in (401, 403, 404):
                wrong.append((role, answer.status_code, "should be allowed"))
        elif answer.status_code not in (403, 404):
            wrong.append((role, answer.status_code, "should be refused"))
    assert wrong == []


def test_a_head_cannot_draft_a_plan_for_another_departments_port(world, property_head):
    client = client_for(property_head)
    answer = client.post("/api/v1/plans/", {"year": 2027, "port": "engineering"}, format="json")
    assert answer.status_code == 403
    assert not ImprovementPlan.objects.filter(year=2027).exists()
    own = client.post("/api/v1/plans/", {"year": 2027, "port": "property", "satisfaction_target": 0.85}, format="json")
    assert own.status_code == 201, own.content


def test_only_management_approves_and_never_the_submitter(world, property_head, manager, staff):
    plan = client_for(property_head).post("/api/v1/plans/", {"year": 2027, "port": "property"}, format="json").json()
    assert client_for(property_head).post(f"/api/v1/plans/{plan['id']}/submit/").status_code == 200
    assert client_for(property_head).post(f"/api/v1/plans/{plan['id']}/approve/").status_code == 403
    assert client_for(staff).post(f"/api/v1/plans/{plan['id']}/approve/").status_code == 403
    returned = client_for(manager).post(f"/api/v1/plans/{plan['id']}/return/", {"comment": ""}, format="json")
    assert returned.status_code == 400 and "意见" in str(returned.json())
    approved = client_for(manager).post(f"/api/v1/plans/{plan['id']}/approve/", {"comment": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


def test_a_head_cannot_act_on_another_departments_plan_it_cannot_see(world, property_head):
    plan = world.plans["engineering"]
    assert client_for(property_head).post(f"/api/v1/plans/{plan.pk}/submit/").status_code == 404


PORT_LABELS = {"design": "规划设计", "engineering": "工程质量", "sales": "销售服务", "service": "客户服务", "property": "物业管理"}
DASHBOARD_URLS = [
    "/", "/dashboards/?survey=2026-annual", "/dashboards/data.json?survey=2026-annual",
    "/dashboards/projects/?survey=2026-annual", "/dashboards/projects/lake/?survey=2026-annual",
    "/dashboards/projects/lake/data.json?survey=2026-annual", "/dashboards/projects/lake/scorecard.xlsx?survey=2026-annual",
    "/api/v1/metrics/?survey=2026-annual",
]


@pytest.mark.parametrize("role", HEADS)
def test_a_heads_dashboards_and_exports_name_no_other_port(world, role, request):
    client = client_for(request.getfixturevalue(role))
    leaks, own = [], 0
    for url in DASHBOARD_URLS:
        answer = client.get(url)
        assert answer.status_code == 200, url
        text = text_of(answer)
        for port in set(PORTS) - VISIBLE[role]:
            if PORT_LABELS[port] in text or f'"{port}"' in text:
                leaks.append((url, port))
        own += any(PORT_LABELS[port] in text or f'"{port}"' in text for port in VISIBLE[role])
    assert leaks == []
    assert own >= 3  # the scan does find the head's own ports, so it would find others'



def test_the_drafter_adds_an_action_item_and_only_responsible_heads_report_progress(world, property_head, engineering_head):
    plan = client_for(property_head).post("/api/v1/plans/", {"year": 2027, "port": "property"}, format="json").json()
    item = {"plan": plan["id"], "title": "保洁巡检标准化", "measure_category": "process_standards", "responsible_department": "property"}
    assert client_for(engineering_head).post("/api/v1/action-items/", item, format="json").status_code == 400  # plan not in scope
    created = client_for(property_head).post("/api/v1/action-items/", item, format="json")
    assert created.status_code == 201, created.content
    item_id = created.json()["id"]
    note = {"text": "完成两个楼盘试点", "percent": 40, "status": "in_progress"}
    assert client_for(engineering_head).post(f"/api/v1/action-items/{item_id}/progress/", note, format="json").status_code == 404
    progressed = client_for(property_head).post(f"/api/v1/action-items/{item_id}/progress/", note, format="json")
    assert progressed.status_code == 201, progressed.content
    assert progressed.json()["status"] == "in_progress"
    assert ActionItem.objects.get(pk=item_id).notes.get().percent == 40
