"""Personal data (PIPL): phones masked in pages, lists, exports, API and logs; reveals permitted and logged; retention."""

import csv
import io
import logging
import re
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import Workbook, load_workbook
from rest_framework.test import APIClient

from core.logging import MaskPhoneFormatter, mask_phones
from core.spreadsheets.writing import safe_cell
from feedback.models import Feedback
from owners.models import Owner, PhoneAccessLog
from satisfaction.exports import metric_rows_xlsx
from surveys.models import ImportJob, Response
from tests.api_world import PHONES, fresh, shared_world
from tests.conftest import PASSWORD
from tests.support import SAMPLE_XLSX
from tests.url_walk import all_paths

pytestmark = pytest.mark.django_db

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
SAMPLE = SAMPLE_XLSX


@pytest.fixture(scope="module", autouse=True)
def module_world(request, django_db_setup, django_db_blocker):
    yield from shared_world(request, django_db_blocker)


@pytest.fixture
def world(module_world, db):
    return fresh(module_world)


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def readable_text(response) -> str:
    """The text a person would get from a page or a download (xlsx cells included)."""
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if body[:2] == b"PK":
        workbook = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(value) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for value in row
            if value is not None
        )
    return body.decode("utf-8", errors="replace")


# --- masking ---------------------------------------------------------------------------------------------------


def test_mask_phones_keeps_the_first_three_and_last_four_digits():
    assert mask_phones("电话 13812345678，备用 +86 15011112222") == "电话 138****5678，备用 +86 150****2222"
    assert mask_phones("问卷 GL2026-0001 房号 3-2-1502 金额 123456789012") == "问卷 GL2026-0001 房号 3-2-1502 金额 123456789012"


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("139-1111-7777", "139-****-7777"),
        ("139 1111 0000", "139 **** 0000"),
        ("8613911119999", "86139****9999"),
        ("+8613911119999", "+86139****9999"),
        ("+86-139-1111-9999", "+86-139-****-9999"),
        ("0086 139 1111 9999", "0086 139 **** 9999"),
        ("１３９１１１１７７７７", "１３９****７７７７"),
        ("１３９－１１１１－７７７７", "１３９－****－７７７７"),
        ("电话:13911117777。", "电话:139****7777。"),
    ],
)
def test_every_common_way_of_writing_a_mobile_number_is_masked(written, masked):
    assert mask_phones(written) == masked


@pytest.mark.parametrize(
    "kept", ["2026-03-05 12:30", "GL2026-0001", "3-2-1502", "123456789012", "订单 20261130123456", "1-1-101 共 1391 户"]
)
def test_numbers_that_are_not_phones_are_left_alone(kept):
    assert mask_phones(kept) == kept


def test_log_lines_mask_phones_however_they_are_written(caplog):
    caplog.set_level(logging.INFO)
    logging.getLogger("csm.test").info("owner %s / %s / %s / %s", "139-1111-7777", "139 1111 0000", "8613911119999", "１３９１１１１７７７７")
    message = caplog.records[-1].getMessage()
    assert "1111" not in message and "１１１１" not in message and message.count("****") == 4


# Staff see the most personal data; management sees everything without the reveal permission.
@pytest.mark.parametrize("role", ["staff", "manager"])
def test_no_page_export_or_api_answer_shows_a_full_phone(world, role, request):
    user = request.getfixturevalue(role)
    client = session(user)
    owner = world.owners[0]
    response = Response.objects.get(owner=owner)
    # Staff type phone numbers into free text too.
    feedback = Feedback.objects.create(
        kind="complaint", project=owner.project, owner=owner, port="property", received_on=date(2026, 3, 2),
        description=f"业主来电 {owner.phone} 反映漏水",
    )
    shown = []
    for path in all_paths():
        if path.startswith(("/admin/", "/accounts/logout/", "/api/schema/", "/api/docs/")) or path.endswith(".json") and "/api/" in path:
            continue
        if path.endswith("/edit/") and user.has_perm("owners.view_full_phone"):
            continue  # an edit form gives back the text as typed, to staff who may see phones
        if "/owners/" in path:
            path = path.replace("/1/", f"/{owner.pk}/")
        elif "/feedback/" in path:
            path = path.replace("/1/", f"/{feedback.pk}/")
        else:
            path = path.replace("/1/", f"/{response.pk}/")
        for query in ("", "?survey=2026-annual&q=1381234"):
            answer = client.get(path + query)
            if answer.status_code != 200:
                continue
            text = readable_text(answer)
            found = set(MOBILE.findall(text)) & set(PHONES)
            if found:
                shown.append((path + query, sorted(found)))
    assert shown == [], shown


def test_the_admin_owner_list_shows_phones_masked(world, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = session(admin)
    text = client.get("/admin/owners/owner/").content.decode()
    assert "138****5678" in text and "13812345678" not in text


def test_the_admin_owner_form_shows_the_phone_masked_and_a_reveal_is_logged(world, django_user_model, staff):
    from django.contrib.auth.models import Permission

    owner = world.owners[0]
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = session(admin)
    form = client.get(f"/admin/owners/owner/{owner.pk}/change/").content.decode()
    assert "138****5678" in form and "13812345678" not in form
    assert not PhoneAccessLog.objects.exists()
    history = client.get(f"/admin/owners/owner/{owner.pk}/history/").content.decode()
    assert "13812345678" not in history
    revealed = client.get(f"/admin/owners/owner/{owner.pk}/change/?reveal=phone", REMOTE_ADDR="10.1.1.1")
    assert "13812345678" in revealed.content.decode()
    log = PhoneAccessLog.objects.get()
    assert (log.user, log.owner, log.ip_address) == (admin, owner, "10.1.1.1") and "admin" in log.where
    # Saving the form without touching the phone keeps it.
    client.post(f"/admin/owners/owner/{owner.pk}/change/", {
        "project": owner.project_id, "unit": owner.unit, "name": "改名", "contract_date": "", "move_in_date": "",
    })
    owner.refresh_from_db()
    assert (owner.name, owner.phone) == ("改名", "13812345678")
    # An administrator without the reveal permission never gets the full number.
    clerk = django_user_model.objects.create_user("clerk", password=PASSWORD, is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_owner", "change_owner"]))
    page = session(clerk).get(f"/admin/owners/owner/{owner.pk}/change/?reveal=phone").content.decode()
    assert "13812345678" not in page and PhoneAccessLog.objects.count() == 1


@pytest.mark.parametrize("path", ["/owners/", "/api/v1/owners/", "/", "/surveys/entry/"])
def test_answers_with_personal_data_are_not_stored_by_browsers_or_proxies(world, staff, path):
    cache_control = session(staff).get(path)["Cache-Control"]
    assert "no-store" in cache_control and "private" in cache_control


def test_the_error_workbook_masks_phones_and_a_re_upload_of_it_keeps_the_stored_phones(world, staff):
    from surveys.importer import import_errors_xlsx, responses_import

    header = "问卷编号,楼盘编码,楼盘名称,房号,业主姓名,联系电话,调查日期,总体满意度,再次购买意愿,推荐意愿"
    rows = [
        "Q0001,lake,湖畔花园,1-1-1501,业主1,13812345678,2026-03-10,5,5,5",
        "Q0099,lake,湖畔花园,9-9-909,新业主,139-1111-7777,2026-03-10,9,5,5",
    ]
    data = "\n".join([header, *rows]).encode()
    result = responses_import(data=data, file_name="fix.csv", survey=world.survey)
    assert not result.ok
    content = import_errors_xlsx(data=data, file_name="fix.csv", errors=result.errors)
    workbook = load_workbook(io.BytesIO(content))
    text = "\n".join(str(c) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c)
    assert "13812345678" not in text and "1111" not in text and "138****5678" in text
    # The clerk fixes the score in the returned sheet and uploads it: stored phones stay as they were.
    sheet = workbook.worksheets[0]
    sheet.cell(row=3, column=8, value=4)
    buffer = io.BytesIO()
    workbook.remove(workbook["错误清单"])
    workbook.save(buffer)
    again = responses_import(data=buffer.getvalue(), file_name="fix.xlsx", survey=world.survey)
    assert again.ok, again.errors
    assert Owner.objects.get(unit="1-1-1501").phone == "13812345678"
    assert Owner.objects.get(unit="9-9-909").phone == ""


# --- reveal ----------------------------------------------------------------------------------------------------


def test_staff_may_reveal_one_phone_and_the_reveal_is_logged(world, staff):
    owner = world.owners[0]
    before = timezone.now()
    answer = session(staff).get(f"/api/v1/owners/{owner.pk}/?reveal=phone", REMOTE_ADDR="10.9.8.7")
    assert answer.json()["phone"] == "13812345678"
    log = PhoneAccessLog.objects.get()
    assert (log.user, log.owner, log.ip_address) == (staff, owner, "10.9.8.7")
    assert log.accessed_at >= before
    assert f"/api/v1/owners/{owner.pk}/?reveal=phone" in log.where


def test_without_reveal_staff_see_the_phone_masked_and_nothing_is_logged(world, staff):
    answer = session(staff).get(f"/api/v1/owners/{world.owners[0].pk}/")
    assert answer.json()["phone"] == "138****5678"
    assert not PhoneAccessLog.objects.exists()


def test_a_list_never_reveals_phones_even_when_asked(world, staff):
    rows = session(staff).get("/api/v1/owners/?reveal=phone").json()["results"]
    assert rows and all("****" in row["phone"] for row in rows)
    assert not PhoneAccessLog.objects.exists()


def test_staff_without_the_permission_get_the_masked_phone_even_when_asking(world, staff):
    from django.contrib.auth.models import Group

    Group.objects.get(name="brand_service").permissions.clear()
    staff = type(staff).objects.get(pk=staff.pk)  # a fresh object: no cached permissions
    answer = session(staff).get(f"/api/v1/owners/{world.owners[0].pk}/?reveal=phone")
    assert answer.json()["phone"] == "138****5678"
    assert not PhoneAccessLog.objects.exists()


@pytest.mark.parametrize("role", ["manager", "committee_member", "property_head"])
def test_other_roles_cannot_reach_owners_at_all(world, role, request):
    answer = session(request.getfixturevalue(role)).get(f"/api/v1/owners/{world.owners[0].pk}/?reveal=phone")
    assert answer.status_code == 403
    assert not PhoneAccessLog.objects.exists()


def test_the_reveal_permission_is_a_named_permission_given_to_brand_service(staff, manager):
    assert staff.has_perm("owners.view_full_phone")
    assert not manager.has_perm("owners.view_full_phone")


# --- logs ------------------------------------------------------------------------------------------------------


def test_no_log_line_carries_a_full_phone_during_an_import_and_an_entry(staff, settings, caplog, django_capture_on_commit_callbacks):
    """The whole path of a phone number: upload, import, entry by API, SQL logging, a login with a phone as name."""
    from surveys.services import survey_create

    settings.DEBUG = True  # Django then logs every SQL statement with its parameters
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    survey = survey_create(code="2026-logs", name="2026 年度")
    client = session(staff)
    with CaptureQueriesContext(connection), django_capture_on_commit_callbacks(execute=True):
        upload = SimpleUploadedFile(SAMPLE.name, SAMPLE.read_bytes())
        answer = client.post("/api/v1/imports/", {"kind": "responses", "survey": survey.code, "file": upload}, format="multipart")
    assert answer.status_code == 202, answer.content
    job = ImportJob.objects.get(pk=answer.json()["id"])
    assert job.status == ImportJob.Status.SUCCEEDED, (job.status, job.errors[:3], job.message)
    assert Response.objects.filter(survey=survey).count() == 240
    owner = Owner.objects.exclude(phone="").order_by("id").first()
    with CaptureQueriesContext(connection):
        client.post("/api/v1/owners/", {"project": owner.project.code, "unit": "1-1-101", "name": "新人", "phone": "13566667777"}, format="json")
        client.patch(f"/api/v1/responses/{Response.objects.filter(survey=survey).first().pk}/", {"scores": {"overall": 3}}, format="json")
        APIClient().post("/accounts/login/", {"username": "13566667777", "password": "x"})
    formatter = MaskPhoneFormatter("%(name)s %(message)s")
    text = "\n".join(formatter.format(record) for record in caplog.records)
    assert "django.db.backends" in text  # SQL was logged, with its parameters
    assert "****" in text  # phones were there, masked
    assert MOBILE.findall(text) == []
    raw = "\n".join(record.getMessage() for record in caplog.records)
    assert MOBILE.findall(raw) == []  # masked as the record is made, whichever handler gets it


def test_the_console_handler_masks_tracebacks_too():
    formatter = MaskPhoneFormatter("%(message)s")
    try:
        raise ValueError("bad phone 13812345678")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, exc_info=__import__("sys").exc_info())
    assert "13812345678" not in formatter.format(record)
    assert "138****5678" in formatter.format(record)


# --- exports neutralise formulas ---------------------------------------------------------------------------------

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\x00x", "\rx", '=HYPERLINK("http://evil","x")']


@pytest.mark.parametrize("value", DANGEROUS)
def test_safe_cell_neutralises_what_a_spreadsheet_would_run(value):
    # The quote goes first; NUL, which no xlsx cell can hold, is then dropped.
    assert safe_cell(value) == "'" + value.replace("\x00", "")


@pytest.mark.parametrize("value", ["湖畔花园", "3-2-1502", "", 0.8, -0.5, 12, None])
def test_safe_cell_leaves_plain_values_and_numbers_alone(value):
    assert safe_cell(value) == value


def test_csv_cells_through_safe_cell_are_read_back_as_text():
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(v) for v in DANGEROUS])
    cells = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert all(cell.startswith("'") for cell in cells)


def test_xlsx_cells_through_safe_cell_are_not_formulas():
    workbook = Workbook()
    workbook.active.append([safe_cell(v) for v in DANGEROUS])  # openpyxl would refuse a NUL
    buffer = io.BytesIO()
    workbook.save(buffer)
    row = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert all(cell.data_type == "s" and str(cell.value).startswith("'") for cell in row)


def test_a_project_code_that_looks_like_a_formula_is_exported_as_text():
    rows = [{
        "survey": "s", "port": None, "project": "=cmd|' /C calc'!A0", "stage": None, "n": 1, "satisfied": 1,
        "satisfaction_rate": 1.0, "satisfaction_ci": [0.2, 1.0], "mean_score": 5.0, "loyalty_base": 1, "loyal": 1,
        "loyalty_rate": 1.0, "loyalty_ci": [0.2, 1.0],
    }]
    sheet = load_workbook(io.BytesIO(metric_rows_xlsx(rows))).active
    cell = sheet["C2"]
    assert cell.data_type == "s" and cell.value == "'=cmd|' /C calc'!A0"


# --- retention -------------------------------------------------------------------------------------------------


def _age(owner: Owner, days: int) -> None:
    old = timezone.now() - timedelta(days=days)
    Owner.objects.filter(pk=owner.pk).update(updated_at=old)
    Response.objects.filter(owner=owner).update(updated_at=old)


def test_anonymise_owners_dry_run_changes_nothing(world, settings):
    settings.OWNER_RETENTION_DAYS = 365
    _age(world.owners[0], 400)
    out = io.StringIO()
    call_command("anonymise_owners", "--dry-run", stdout=out)
    assert "1" in out.getvalue() and "未写入" in out.getvalue()
    world.owners[0].refresh_from_db()
    assert world.owners[0].name == "业主1" and world.owners[0].anonymised_at is None


def test_anonymise_owners_past_retention_keeps_their_answers_and_leaves_no_name_or_phone_in_history(world, settings):
    settings.OWNER_RETENTION_DAYS = 365
    old, recent_response, recent = world.owners[0], world.owners[1], world.owners[2]
    _age(old, 400)
    # An owner updated long ago who answered recently is kept.
    Owner.objects.filter(pk=recent_response.pk).update(updated_at=timezone.now() - timedelta(days=400))
    out = io.StringIO()
    call_command("anonymise_owners", stdout=out)
    assert "1 位" in out.getvalue()
    old.refresh_from_db()
    assert old.name == f"业主#{old.pk}" and old.phone == "" and old.anonymised_at is not None
    assert Response.objects.filter(owner=old).count() == 1  # the numbers stay
    history = list(old.history.order_by("history_date"))
    assert history[-1].history_change_reason == "匿名化（超过保存期限）"
    assert all(h.name == f"业主#{old.pk}" and h.phone == "" for h in history)
    for kept in (recent_response, recent):
        kept.refresh_from_db()
        assert kept.anonymised_at is None and kept.phone in PHONES
    call_command("anonymise_owners", stdout=io.StringIO())
    assert Owner.objects.filter(anonymised_at__isnull=False).count() == 1


def test_administrators_read_the_reveal_log_but_cannot_change_it(world, staff, django_user_model):
    session(staff).get(f"/api/v1/owners/{world.owners[1].pk}/?reveal=phone")
    admin = django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = session(admin)
    page = client.get("/admin/owners/phoneaccesslog/")
    assert page.status_code == 200 and "staff" in page.content.decode()
    log = PhoneAccessLog.objects.get()
    assert client.post(f"/admin/owners/phoneaccesslog/{log.pk}/delete/", {"post": "yes"}).status_code == 403
    assert PhoneAccessLog.objects.filter(pk=log.pk).exists()
