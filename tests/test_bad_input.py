"""Hostile input gets a 400 or 413 with a clear message, never a 500 and never a worker full of memory: NUL bytes,
JSON nested beyond reason, bodies larger than their limit (refused from Content-Length, before reading), text
longer than its field, and an import whose error workbook would echo a million columns."""

import io
import json
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from openpyxl import load_workbook

from tests.api_world import build_world

pytestmark = pytest.mark.django_db

# Query strings that reached a database driver or a parser with a NUL in them (finding 8 of issue 17).
NUL_URLS = [
    "/api/v1/metrics/?survey=%00",
    "/api/v1/owners/?name=%00",
    "/api/v1/feedback/?project=%00",
    "/api/v1/action-items/?status=%00",
    "/api/v1/responses/?survey=%00",
    "/owners/?q=%00",
    "/surveys/entry/?survey=%00",
    "/surveys/entry/owners/?survey=2026-annual&q=%00",
    "/surveys/imports/template.xlsx?survey=%00",
    "/feedback/?project=%00",
    "/feedback/benchmarks/?year=%00",
    "/feedback/import/template.xlsx?project=%00",
    "/plans/?year=%00",
    "/dashboards/?survey=%00",
    "/dashboards/ports/property/?project=%00",
    "/?x%00=1",
]


@pytest.fixture
def world(db):
    return build_world()


def quiet(user=None) -> Client:
    """A client that hands back a 500 as a response, as a browser would see it, instead of raising."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("url", NUL_URLS)
def test_a_nul_byte_in_the_query_is_a_400(url, world, staff):
    answer = quiet(staff).get(url)
    assert answer.status_code == 400, (url, answer.status_code)


def test_a_nul_byte_in_a_form_or_json_body_is_a_400(world, staff):
    client = quiet(staff)
    fields = {"project": world.projects[0].pk, "unit": "1-1-101", "name": "张\x00三"}
    form = client.post("/owners/new/", urlencode(fields), content_type="application/x-www-form-urlencoded")
    assert form.status_code == 400 and "不允许的控制字符" in form.content.decode()
    # In a multipart form (an upload page) the field itself refuses it, as a form error.
    multipart = client.post("/owners/new/", fields)
    assert multipart.status_code == 400
    api = client.post(
        "/api/v1/owners/", json.dumps({"project": "lake", "unit": "1-1-1", "name": "a\u0000b"}),
        content_type="application/json",
    )
    assert api.status_code == 400 and "不允许的控制字符" in api.json()["detail"]
    escaped = client.post("/api/v1/owners/", '{"project": "lake", "unit": "1-1-1", "name": "a\\u0000b"}',
                          content_type="application/json")
    assert escaped.status_code == 400
    from owners.models import Owner

    assert not Owner.objects.filter(unit="1-1-1").exists()


def test_json_nested_a_hundred_thousand_deep_is_a_400_even_on_the_token_url(world, staff, settings):
    deep = "[" * 100_000 + "]" * 100_000
    anonymous = quiet().post("/api/v1/auth/token/", '{"username": ' + deep[:4000] + "}", content_type="application/json")
    assert anonymous.status_code in (400, 413)
    nested = '{"username": ' + "[" * 200 + "]" * 200 + ', "password": "x"}'
    assert quiet().post("/api/v1/auth/token/", nested, content_type="application/json").status_code == 400
    signed_in = quiet(staff).post("/api/v1/plans/", deep, content_type="application/json")
    assert signed_in.status_code == 400 and "嵌套" in signed_in.json()["detail"]
    # Ordinary nesting passes.
    assert settings.JSON_MAX_DEPTH >= 8
    fine = quiet(staff).post("/api/v1/plans/", json.dumps({"a": [[{"b": [1]}]]}), content_type="application/json")
    assert fine.status_code != 500 and "嵌套" not in fine.content.decode()


def test_an_oversize_upload_is_refused_from_its_content_length_before_a_byte_is_read(world, staff, settings):
    # The test client's payload raises if read beyond what it holds: a 413 here proves nothing was read.
    claimed = settings.IMPORT_MAX_BYTES * 10
    answer = quiet(staff).generic(
        "POST", "/api/v1/imports/", b"--x\r\n", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(claimed),
    )
    assert answer.status_code == 413 and "20 MB" in answer.json()["detail"]
    page = quiet(staff).generic(
        "POST", "/surveys/imports/new/", b"--x\r\n", content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(claimed),
    )
    assert page.status_code == 413 and "20 MB" in page.content.decode()


def test_a_form_or_json_body_beyond_the_data_limit_is_a_413(world, staff, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 2 * 1024 * 1024
    body = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    answer = quiet(staff).post("/api/v1/plans/", body, content_type="application/json")
    assert answer.status_code == 413


def test_the_token_url_takes_a_small_body_only_without_login(db, settings):
    body = json.dumps({"username": "staff", "password": "x" * 200_000})
    answer = quiet().post("/api/v1/auth/token/", body, content_type="application/json")
    assert answer.status_code == 413
    assert settings.TOKEN_MAX_BODY_BYTES <= 8192


# --- every free-text field has a maximum length --------------------------------------------------------------------

PROJECT_APPS = {"core", "departments", "owners", "surveys", "satisfaction", "improvement_plans", "feedback", "dashboards"}
# Written by the system only, never from a request (a run's error text, an import job's message).
SYSTEM_TEXT = {("satisfaction", "metricrun", "error"), ("surveys", "importjob", "message")}


def test_every_text_field_of_every_model_has_a_maximum_length():
    unbounded = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in PROJECT_APPS
        for field in model._meta.get_fields()
        if isinstance(field, models.TextField) and field.max_length is None
        and (model._meta.app_label, model._meta.model_name, field.name) not in SYSTEM_TEXT
        and not model._meta.model_name.startswith("historical")
    ]
    assert unbounded == [], unbounded


def all_form_classes():
    import importlib
    import inspect

    from django import forms

    for app in sorted(PROJECT_APPS):
        try:
            module = importlib.import_module(f"{app}.forms")
        except ModuleNotFoundError:
            continue
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                yield value


def test_every_free_text_field_of_every_form_has_a_maximum_length():
    from django import forms

    classes = list(all_form_classes())
    assert len(classes) > 10
    unbounded = [
        f"{form.__module__}.{form.__name__}.{name}"
        for form in classes
        for name, field in form.base_fields.items()
        if type(field) in (forms.CharField, forms.RegexField, forms.EmailField) and field.max_length is None
    ]
    assert unbounded == [], unbounded


def test_every_string_the_api_accepts_has_a_maximum_length():
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
    components = schema["components"]["schemas"]
    request_bodies = {
        ref.rsplit("/", 1)[-1]
        for path in schema["paths"].values()
        for operation in path.values()
        if isinstance(operation, dict) and "requestBody" in operation
        for media in operation["requestBody"]["content"].values()
        for ref in [media["schema"].get("$ref", "")]
        if ref
    }
    assert request_bodies
    unbounded = [
        f"{name}.{prop}"
        for name in sorted(request_bodies)
        for prop, spec in components[name].get("properties", {}).items()
        if spec.get("type") == "string" and "maxLength" not in spec and "enum" not in spec
        and spec.get("format") not in {"date", "date-time", "binary", "uri"} and not spec.get("readOnly")
    ]
    assert unbounded == [], unbounded


def test_a_feedback_description_beyond_its_limit_is_refused_with_a_message(world, staff):
    from feedback.models import Feedback

    limit = Feedback._meta.get_field("description").max_length
    body = {"kind": "complaint", "project": "lake", "port": "property", "received_on": "2026-05-01",
            "description": "漏" * (limit + 1)}
    answer = quiet(staff).post("/api/v1/feedback/", json.dumps(body), content_type="application/json")
    assert answer.status_code == 400 and "description" in answer.json()
    assert not Feedback.objects.exists()


# --- the error workbook echoes a bounded sheet ----------------------------------------------------------------------


def test_the_error_workbook_of_a_file_with_tens_of_thousands_of_columns_is_capped_and_says_so(db):
    from core.spreadsheets.results import ImportIssue
    from surveys.importing.workbooks import ERROR_WORKBOOK_MAX_COLUMNS, ERROR_WORKBOOK_MAX_ROWS, import_errors_xlsx

    columns = 20_000  # beyond Excel's 16,384: openpyxl refused the whole workbook
    header = ",".join(f"c{n}" for n in range(columns))
    rows = "\n".join(",".join(["1"] * columns) for _ in range(3))
    data = f"{header}\n{rows}\n".encode()
    errors = [ImportIssue(row=1, column=f"c{n}", value=f"c{n}", reason="未知的列") for n in range(columns)]
    content = import_errors_xlsx(data=data, file_name="wide.csv", errors=errors)
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    sheet, listing = workbook.worksheets[0], workbook["错误清单"]
    assert sheet.max_column <= ERROR_WORKBOOK_MAX_COLUMNS + 1
    listed = list(listing.iter_rows(values_only=True))
    assert len(listed) <= ERROR_WORKBOOK_MAX_ROWS + 2
    assert any("仅列出前" in str(cell) for row in listed[-1:] for cell in row if cell)


def test_a_file_wider_than_any_questionnaire_is_refused_with_a_message(db):
    from core.spreadsheets.files import SHEET_MAX_COLUMNS
    from surveys.importer import responses_import
    from surveys.services import survey_create

    survey = survey_create(code="wide", name="宽表")
    data = (",".join(f"c{n}" for n in range(SHEET_MAX_COLUMNS + 1)) + "\n").encode()
    result = responses_import(data=data, file_name="wide.csv", survey=survey)
    assert not result.ok and any("列数过多" in issue.reason for issue in result.errors)
