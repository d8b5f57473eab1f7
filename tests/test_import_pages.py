"""导入 pages: upload refusals (nothing written), the job page in each state, error downloads, the import history."""

import hashlib
import io
from datetime import date

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from owners.models import Owner, Project
from surveys.models import ImportJob, Response
from surveys.services import survey_create

UPLOAD = "/surveys/imports/new/"
HEADER = "questionnaire_no,project_code,project_name,unit,owner_name,phone,move_in_date,surveyed_on,channel,overall,repurchase,recommend\n"
GOOD_CSV = (
    HEADER
    + "Q1,HY,和园,3-2-1502,张三,13812345678,2025-01-10,2026-03-05,电话,5,4,5\n"
    + "Q2,HY,和园,3-2-1503,李四,,,2026/3/6,paper,3,不适用,4\n"
).encode("utf-8")
BAD_CSV = (
    HEADER
    + "Q1,HY,和园,3-2-1502,张三,13812345678,2025-01-10,2026-03-05,电话,7,4,5\n"
    + "Q2,HY,和园,3-2-1503,李四,,,2026-02-30,paper,3,4,4\n"
).encode("utf-8")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查", starts_on=date(2026, 3, 1))


def upload(client, survey, name: str, content: bytes):
    data = {"file": SimpleUploadedFile(name, content)}
    if survey is not None:
        data["survey"] = survey.pk
    return client.post(UPLOAD, data)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a request as the app does outside a test transaction: on commit, the job is queued and (eager
    Celery) runs before the response is sent."""

    def run(request, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(*args, **kwargs)

    return run


def nothing_written() -> bool:
    return not (ImportJob.objects.exists() or Response.objects.exists() or Owner.objects.exists() or Project.objects.exists())


def test_a_department_head_cannot_upload_or_read_imports(client, property_head, survey):
    client.force_login(property_head)
    assert upload(client, survey, "good.csv", GOOD_CSV).status_code == 403
    assert client.post("/surveys/imports/owners/", {"file": SimpleUploadedFile("o.csv", b"x")}).status_code == 403
    assert client.get(reverse("surveys:import_template") + f"?survey={survey.code}").status_code == 403
    assert nothing_written()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("answers.txt", b"hello", "不支持的文件类型“.txt”"),
        ("answers.xlsx", b"this is not a workbook", "xlsx"),
        ("answers.xlsm", b"PK\x03\x04", "不接受含宏的工作簿"),
        ("answers.csv", b"", "上传的文件是空的"),
    ],
)
def test_a_file_refused_before_parsing_says_why_and_writes_nothing(client, staff, survey, name, content, message):
    client.force_login(staff)
    response = upload(client, survey, name, content)
    assert response.status_code == 400
    page = response.content.decode()
    assert "文件未导入，未写入任何数据" in page
    assert message in page
    assert nothing_written()


def test_an_upload_without_a_survey_or_file_is_refused_in_chinese(client, staff, survey):
    client.force_login(staff)
    page = client.post(UPLOAD, {}).content.decode()
    assert "请选择要导入到哪个调查" in page and "请选择要上传的文件" in page
    assert nothing_written()


def test_a_good_file_runs_and_its_job_page_and_history_show_the_outcome(client, staff, survey, committed):
    client.force_login(staff)
    response = committed(upload, client, survey, "答卷.csv", GOOD_CSV)
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("surveys:import_job", args=[job.pk])
    page = client.get(response["Location"]).content.decode()
    # Celery is eager in tests: the job finished during the POST, so the page shows the outcome, not a poller.
    assert "导入完成" in page and 'hx-trigger="every 500ms"' not in page
    assert '<td class="num" id="count-created">2</td>' in page
    assert Response.objects.count() == 2
    history = client.get("/surveys/imports/").content.decode()
    assert "答卷.csv" in history and hashlib.sha256(GOOD_CSV).hexdigest() in history
    assert "王敏" in history and "2026-annual" in history and "已导入" in history

    # The same file again changes nothing, and says so.
    again = client.get(committed(upload, client, survey, "答卷.csv", GOOD_CSV)["Location"]).content.decode()
    assert "没有任何改动" in again
    assert '<td class="num" id="count-unchanged">2</td>' in again
    assert Response.objects.count() == 2


def test_a_file_with_errors_lists_every_error_and_offers_them_as_excel_with_nothing_written(client, staff, survey, committed):
    client.force_login(staff)
    response = committed(upload, client, survey, "bad.csv", BAD_CSV)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "导入失败，未写入任何数据" in page
    table = page[page.index('id="job-errors"'):]
    rows = [(2, "overall", "7"), (3, "surveyed_on", "2026-02-30")]
    for row, column, value in rows:
        assert f'<td class="num">{row}</td><td>{column}</td><td>{value}</td>' in table
    assert table.count("<tr>") == 1 + len(job.errors)
    assert not Response.objects.exists() and not Owner.objects.exists()

    download = client.get(reverse("surveys:import_job_errors", args=[job.pk]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(download.content))
    text = " ".join(str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row if cell.value)
    assert "2026-02-30" in text


def test_a_running_job_polls_every_half_second_until_it_finishes(client, staff, survey):
    job = ImportJob.objects.create(
        survey=survey, created_by=staff, file_name="big.xlsx", sha256="0" * 64, status=ImportJob.Status.RUNNING,
        progress=40, total_rows=10000,
    )
    client.force_login(staff)
    page = client.get(reverse("surveys:import_job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 500ms"' in page and 'data-progress="40"' in page and 'aria-valuenow="40"' in page
    assert "style=" not in page
    partial = client.get(reverse("surveys:import_job_progress", args=[job.pk])).content.decode()
    assert partial.lstrip().startswith('<div id="job-progress"') and 'hx-trigger="every 500ms"' in partial
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.SUCCEEDED, progress=100, created_count=10000)
    partial = client.get(reverse("surveys:import_job_progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in partial and "导入完成" in partial and ">10000<" in partial


def test_the_template_has_one_column_per_question_headed_in_chinese(client, staff, survey):
    client.force_login(staff)
    response = client.get(reverse("surveys:import_template"), {"survey": survey.code})
    assert response.status_code == 200
    header = [cell.value for cell in openpyxl.load_workbook(io.BytesIO(response.content)).active[1]]
    assert header[:2] == ["问卷编号", "楼盘编码"] and "总体满意度" in header and "公共设施维护" in header


def test_the_owner_roster_upload_creates_owners_through_a_job(client, staff, committed):
    client.force_login(staff)
    roster = "楼盘编码,楼盘名称,房号,业主姓名,联系电话,入住日期\nHY,和园,3-2-1502,张三,13812345678,2025-01-10\n".encode("gb18030")
    response = committed(client.post, "/surveys/imports/owners/", {"file": SimpleUploadedFile("名册.csv", roster)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "业主名册" in page and '<td class="num" id="count-created">1</td>' in page
    owner = Owner.objects.get()
    assert (owner.project.code, owner.unit, owner.name, owner.move_in_date) == ("HY", "3-2-1502", "张三", date(2025, 1, 10))
    assert "138****5678" in client.get("/owners/").content.decode()


@pytest.mark.django_db
def test_on_sqlite_a_running_imports_progress_reaches_the_page_while_its_transaction_holds_the_lock(
    client, staff, settings, tmp_path
):
    from django.db import transaction

    from surveys.importing.jobs import ProgressWriter, progress_file
    from surveys.models import ImportJob

    settings.VAR_DIR = tmp_path
    job = ImportJob.objects.create(file_name="big.xlsx", sha256="0" * 64, status=ImportJob.Status.RUNNING, progress=1)
    writer = ProgressWriter(job.pk, min_interval=0)
    with transaction.atomic():  # the import's write transaction: no second SQLite connection may write now
        writer(45)
        writer(62)
    client.force_login(staff)
    page = client.get(reverse("surveys:import_job_progress", args=[job.pk]))
    assert 'data-progress="62"' in page.content.decode()
    writer.close()
    assert not progress_file(job.pk).exists()
    page = client.get(reverse("surveys:import_job_progress", args=[job.pk]))
    assert 'data-progress="1"' in page.content.decode()
