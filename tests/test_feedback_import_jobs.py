"""Feedback imports run as background import jobs like the others: the history (导入记录), "same file again",
the error workbook; and the template."""

import csv
import hashlib
import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from openpyxl import load_workbook

from feedback.importing import FEEDBACK_COLUMNS, feedback_import, feedback_template_xlsx
from feedback.models import Feedback
from owners.models import Project
from surveys.importing.jobs import import_job_run, import_job_start
from surveys.models import ImportJob

HEADER = ["反馈编号", "反馈类型", "楼盘编码", "房号", "业主姓名", "责任端口", "受理日期", "严重程度", "处理状态", "关闭日期", "反馈内容"]
ROWS = [
    ["F-1", "投诉", "P1", "3-2-1502", "", "物业管理", "2026-03-05", "一般", "已关闭", "2026-03-09", "车库照明损坏"],
    ["F-2", "报修", "P1", "1-1-0201", "", "工程质量", "2026-03-06", "", "", "", "厨房下水管堵塞"],
]


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _upload(data: bytes, name: str):
    upload = io.BytesIO(data)
    upload.name = name
    return upload


def run_job(data: bytes, file_name: str, user) -> ImportJob:
    """Store the upload as a feedback import job and run it as the worker would."""
    job = import_job_start(kind=ImportJob.Kind.FEEDBACK, survey=None, data=data, file_name=file_name, user=user)
    return import_job_run(job_id=job.pk)


@pytest.fixture
def project(db):
    return Project.objects.create(code="P1", name="翠湖花园", unit_count=200)


def test_a_good_file_is_written_and_recorded_as_a_succeeded_feedback_import(project, staff):
    data = _csv([HEADER, *ROWS])
    job = run_job(data, "反馈.csv", staff)
    assert Feedback.objects.count() == 2
    assert (job.kind, job.status, job.file_name, job.created_by) == ("feedback", "succeeded", "反馈.csv", staff)
    assert job.sha256 == hashlib.sha256(data).hexdigest()
    assert (job.total_rows, job.created_count, job.updated_count, job.unchanged_count) == (2, 2, 0, 0)
    assert job.errors == [] and job.finished_at is not None and job.progress == 100
    with job.file.open("rb") as stored:
        assert stored.read() == data


def test_the_same_file_again_is_recorded_as_unchanged_and_a_changed_row_as_an_update(project, staff):
    data = _csv([HEADER, *ROWS])
    run_job(data, "f.csv", staff)
    again = run_job(data, "f.csv", staff)
    assert again.status == ImportJob.Status.UNCHANGED and again.unchanged_count == 2
    assert again.message.startswith("文件与") and again.message.endswith("导入的文件相同，未作任何更改")
    changed = [HEADER, ROWS[0], [*ROWS[1][:10], "厨房下水管堵塞，已疏通"]]
    third = run_job(_csv(changed), "f.csv", staff)
    assert third.status == ImportJob.Status.SUCCEEDED and (third.updated_count, third.unchanged_count) == (1, 1)
    assert ImportJob.objects.filter(kind="feedback").count() == 3


def test_a_file_with_errors_writes_nothing_and_its_job_keeps_every_error(project, staff):
    rows = [HEADER, ROWS[0], [*ROWS[1][:5], "保安", *ROWS[1][6:]], ["F-3", "投诉", "NOPE", "", "", "物业管理", "2026-03-05", "", "", "", "x"]]
    job = run_job(_csv(rows), "bad.csv", staff)
    assert Feedback.objects.count() == 0
    assert job.status == ImportJob.Status.FAILED and job.total_rows == 3 and job.created_count == 0
    assert {(e["row"], e["column"], e["value"]) for e in job.errors} == {(3, "责任端口", "保安"), (4, "楼盘编码", "NOPE")}
    assert job.message == "发现 2 个错误，未写入任何数据"


def test_a_refused_file_is_not_kept(project, staff):
    with pytest.raises(ValidationError) as refused:
        import_job_start(kind=ImportJob.Kind.FEEDBACK, survey=None, data=b"\x00\x01 not a sheet", file_name="f.pdf", user=staff)
    assert "不支持的文件类型" in str(refused.value)
    assert ImportJob.objects.count() == 0


def test_the_import_page_starts_a_job_whose_page_offers_the_error_workbook_and_the_history_lists_it(
    client, project, staff, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    rows = [HEADER, ROWS[0], [*ROWS[1][:5], "保安", *ROWS[1][6:]]]
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/feedback/import/", {"file": _upload(_csv(rows), "反馈-有错.csv")})
    job = ImportJob.objects.get(kind="feedback")
    assert answer.status_code == 302 and answer["Location"] == f"/surveys/imports/{job.pk}/"
    html = client.get(answer["Location"]).content.decode()
    assert "未写入任何数据" in html and f"/surveys/imports/{job.pk}/errors.xlsx" in html and "保安" in html
    assert 'href="/feedback/import/"' in html  # "import another file" leads back to the feedback upload
    assert Feedback.objects.count() == 0

    workbook = load_workbook(io.BytesIO(client.get(f"/surveys/imports/{job.pk}/errors.xlsx").content))
    listing = workbook["错误清单"]
    assert [c.value for c in listing[2]] == [3, "责任端口", "保安", "未知端口，可选：规划设计、工程质量、销售服务、客户服务、物业管理"]
    bad = workbook.worksheets[0].cell(row=3, column=HEADER.index("责任端口") + 1)
    assert bad.value == "保安" and bad.comment is not None

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/feedback/import/", {"file": _upload(_csv([HEADER, *ROWS]), "反馈.csv")})
    assert answer.status_code == 302 and Feedback.objects.count() == 2
    history = client.get("/surveys/imports/").content.decode()
    assert history.count("客户反馈") >= 2 and "反馈.csv" in history and "反馈-有错.csv" in history
    detail = client.get(f"/surveys/imports/{ImportJob.objects.order_by('-id').first().pk}/").content.decode()
    assert "客户反馈" in detail and "导入完成" in detail


def test_the_template_has_chinese_headers_lists_and_an_example_that_imports_as_one_valid_row(project, staff, client):
    client.force_login(staff)
    answer = client.get("/feedback/import/template.xlsx")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("application/vnd.openxmlformats")
    content = answer.content
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert [c.value for c in sheet[1]] == [column.label for column in FEEDBACK_COLUMNS]
    lists = {str(v.sqref).split(":")[0][0]: v.formula1 for v in sheet.data_validations.dataValidation}
    letters = {column.key: chr(ord("A") + i) for i, column in enumerate(FEEDBACK_COLUMNS)}
    assert "投诉" in lists[letters["kind"]] and "模拟验收问题" in lists[letters["kind"]]
    assert "物业管理" in lists[letters["port"]] and "严重" in lists[letters["severity"]] and "已关闭" in lists[letters["status"]]

    result = feedback_import(data=content, file_name="template.xlsx", today=date(2026, 4, 1))
    assert result.ok and result.created == 1 and result.total_rows == 1
    feedback = Feedback.objects.get()
    assert (feedback.project, feedback.kind, feedback.port, feedback.status) == (project, "complaint", "property", "closed")
    assert feedback.closed_on == date(2026, 3, 9)


def test_only_brand_service_staff_download_the_template(client, property_head):
    client.force_login(property_head)
    assert client.get("/feedback/import/template.xlsx").status_code == 403


def test_the_template_without_projects_names_the_demo_project():
    sheet = load_workbook(io.BytesIO(feedback_template_xlsx())).worksheets[0]
    assert sheet.cell(row=2, column=3).value == "SZ-JY01"
