"""What the importer accepts and refuses as a file: CSV encodings, refusals before parsing, the workbooks it hands back."""

import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from owners.models import Owner, Project
from surveys.importer import import_errors_xlsx, response_template_xlsx, responses_import, upload_check
from surveys.models import Response
from surveys.services import survey_create
from tests.import_support import column_of, sample_bytes, set_cell, small_edited, small_sample_bytes


@pytest.fixture
def survey(db):
    return survey_create(code="2026-annual", name="2026 年度满意度调查")


def written():
    return Response.objects.count(), Owner.objects.count(), Project.objects.count()


def sample_as_csv(encoding: str) -> bytes:
    """The sample saved as CSV the way Excel in China would: via pandas, dates as the sheet shows them."""
    frame = pd.read_excel(io.BytesIO(sample_bytes()), engine="openpyxl", dtype=object)
    for column in ("入住日期", "调查日期"):
        frame[column] = frame[column].map(lambda v: v.strftime("%Y/%-m/%-d") if hasattr(v, "strftime") else v)
    text = frame.to_csv(index=False)
    return text.encode(encoding)


def answers_by_number(survey):
    return dict(Response.objects.filter(survey=survey).values_list("questionnaire_no", "answers"))


def stages_by_number(survey):
    return dict(Response.objects.filter(survey=survey).values_list("questionnaire_no", "stage"))


# --- CSV encodings -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_the_sample_as_csv_imports_exactly_like_the_xlsx(db, encoding):
    from_xlsx = survey_create(code="from-xlsx", name="xlsx")
    from_csv = survey_create(code="from-csv", name="csv")
    assert responses_import(survey=from_xlsx, data=sample_bytes(), file_name="sample.xlsx").created == 240

    result = responses_import(survey=from_csv, data=sample_as_csv(encoding), file_name="sample.csv")

    assert result.ok, result.errors[:3]
    assert (result.created, result.updated, result.unchanged) == (240, 0, 0)
    assert answers_by_number(from_csv) == answers_by_number(from_xlsx)
    assert stages_by_number(from_csv) == stages_by_number(from_xlsx)
    assert Owner.objects.count() == 240  # the CSV found the same owners the xlsx created


def test_a_gbk_csv_error_quotes_the_chinese_value(survey):
    text = sample_as_csv("utf-8").decode("utf-8").replace(",网络,", ",微信,", 1)

    result = responses_import(survey=survey, data=text.encode("gbk"), file_name="gbk.csv")

    assert [(e.row, e.column, e.value) for e in result.errors] == [(2, "调查方式", "微信")]
    assert written() == (0, 0, 0)


# --- refusals before parsing -----------------------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_member(name: str, data: bytes, *, content_types: bytes | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(small_sample_bytes()))
    members = {info.filename: source.read(info.filename) for info in source.infolist()}
    members[name] = data
    if content_types is not None:
        members["[Content_Types].xml"] = content_types
    return zip_bytes(members)


MACRO_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/></Types>'
)


@pytest.mark.parametrize(
    ("file_name", "data", "message"),
    [
        ("survey.pdf", b"%PDF-1.7", "不支持的文件类型“.pdf”"),
        ("survey", b"abc", "不支持的文件类型“（无扩展名）”"),
        ("survey.xlsm", b"PK\x03\x04", "不接受含宏的工作簿"),
        ("survey.xlsx", b"", "文件是空的"),
        ("survey.xlsx", "问卷编号,楼盘编码\n1,2\n".encode(), "不是 .xlsx 工作簿"),
        ("survey.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "可能已加密"),
        ("survey.xlsx", zip_bytes({"hello.txt": b"hi"}), "缺少 [Content_Types].xml"),
        ("survey.xlsx", b"PK\x03\x04 broken", "压缩包已损坏"),
        ("survey.xls", b"PK\x03\x04 a zip, not OLE2", "不是 Excel 97-2003 工作簿"),
        ("survey.csv", b"PK\x03\x04\x14\x00\x00\x00", "不是 CSV 文本"),
        ("survey.csv", b"\x00\x00\x81\x30", "不是 CSV 文本"),
        ("survey.csv", "问卷编号".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_and_writes_nothing(survey, file_name, data, message):
    refusals = upload_check(file_name=file_name, data=data)

    assert len(refusals) == 1 and message in refusals[0]
    result = responses_import(survey=survey, data=data, file_name=file_name)
    assert result.refused and [e.reason for e in result.errors] == refusals
    assert written() == (0, 0, 0)


def test_a_workbook_with_a_vba_project_is_refused_as_a_macro_workbook(survey):
    data = with_member("xl/vbaProject.bin", b"\x00" * 64)

    assert upload_check(file_name="survey.xlsx", data=data) == ["不接受含宏的工作簿：请另存为不含宏的 .xlsx 后再上传"]
    assert responses_import(survey=survey, data=data, file_name="survey.xlsx").refused
    assert written() == (0, 0, 0)


def test_a_workbook_declaring_macro_content_is_refused(survey):
    data = with_member("xl/extra.xml", b"<x/>", content_types=MACRO_TYPES)

    assert "含宏" in upload_check(file_name="survey.xlsx", data=data)[0]


def test_an_xls_with_a_vba_project_storage_is_refused():
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100 + "_VBA_PROJECT_CUR".encode("utf-16-le")

    assert "含宏" in upload_check(file_name="survey.xls", data=data)[0]


def test_a_zip_bomb_is_refused_by_its_compression_ratio(survey):
    data = with_member("xl/media/padding.bin", b"\x00" * (50 * 1024 * 1024))

    assert len(data) < 1024 * 1024
    assert upload_check(file_name="survey.xlsx", data=data) == ["工作簿压缩比异常（疑似压缩炸弹），拒绝读取"]
    assert responses_import(survey=survey, data=data, file_name="survey.xlsx").refused
    assert written() == (0, 0, 0)


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused(survey, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 100_000

    refusals = upload_check(file_name="survey.xlsx", data=sample_bytes())

    assert len(refusals) == 1 and refusals[0].startswith("工作簿解压后过大")
    assert responses_import(survey=survey, data=sample_bytes(), file_name="survey.xlsx").refused
    assert written() == (0, 0, 0)


def test_a_file_over_the_size_limit_is_refused(survey, settings):
    settings.IMPORT_MAX_BYTES = 10_000

    refusals = upload_check(file_name="survey.xlsx", data=sample_bytes())

    assert refusals == [f"文件过大（{len(sample_bytes()) / 1048576:.1f} MB），上限为 0.0 MB：请拆分后分批上传"]
    assert responses_import(survey=survey, data=sample_bytes(), file_name="survey.xlsx").refused
    assert written() == (0, 0, 0)


def test_the_valid_sample_passes_the_upload_check():
    assert upload_check(file_name="样本.XLSX", data=sample_bytes()) == []


def test_a_workbook_with_only_a_header_is_an_error_not_a_success(survey):
    def edit(sheet):
        sheet.delete_rows(2, 100)

    result = responses_import(survey=survey, data=small_edited(edit), file_name="empty.xlsx")

    assert not result.ok and "没有数据行" in result.errors[0].reason


# --- the workbooks handed back ------------------------------------------------------------------------------------


def test_the_error_workbook_marks_each_bad_cell_and_lists_every_error(survey):
    def edit(sheet):
        sheet.cell(row=5, column=column_of(sheet, "总体满意度")).value = 6
        sheet.cell(row=7, column=column_of(sheet, "调查方式")).value = "=HYPERLINK(1)"

    data = small_edited(edit)
    result = responses_import(survey=survey, data=data, file_name="bad.xlsx")

    workbook = openpyxl.load_workbook(
        io.BytesIO(import_errors_xlsx(data=data, file_name="bad.xlsx", errors=result.errors))
    )

    sheet = workbook.worksheets[0]
    bad = sheet.cell(row=5, column=column_of(sheet, "总体满意度"))
    assert bad.fill.fgColor.rgb == "FFFFC7CE" and "1–5" in bad.comment.text
    assert sheet.cell(row=4, column=column_of(sheet, "总体满意度")).comment is None
    listing = list(workbook["错误清单"].values)
    assert listing[0] == ("行", "列", "值", "原因")
    assert [row[:3] for row in listing[1:]] == [(5, "总体满意度", "6"), (7, "调查方式", "'=HYPERLINK(1)")]


def test_the_error_workbook_of_a_csv_keeps_the_sheets_row_numbers(survey):
    text = sample_as_csv("utf-8").decode("utf-8").replace(",网络,", ",微信,", 1)
    result = responses_import(survey=survey, data=text.encode("utf-8"), file_name="bad.csv")

    workbook = openpyxl.load_workbook(
        io.BytesIO(import_errors_xlsx(data=text.encode(), file_name="bad.csv", errors=result.errors))
    )

    sheet = workbook.worksheets[0]
    cell = sheet.cell(row=2, column=column_of(sheet, "调查方式"))
    assert cell.value == "微信" and cell.comment is not None


def test_the_template_has_the_surveys_columns_validation_and_an_example_row_that_imports(survey):
    data = response_template_xlsx(survey=survey)

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook["问卷数据"]
    headers = [cell.value for cell in sheet[1]]
    assert headers[:9] == [
        "问卷编号",
        "楼盘编码",
        "楼盘名称",
        "房号",
        "业主姓名",
        "联系电话",
        "入住日期",
        "调查日期",
        "调查方式",
    ]
    assert headers[9:] == list(survey.questions.order_by("position").values_list("label", flat=True))
    rules = sheet.data_validations.dataValidation
    whole = [rule for rule in rules if rule.type == "whole"]
    assert whole and (whole[0].formula1, whole[0].formula2) == ("1", "5")
    assert str(whole[0].sqref).startswith("J2:")
    result = responses_import(survey=survey, data=data, file_name="template.xlsx")
    assert result.ok and result.created == 1


def test_a_formula_cell_is_found_in_the_sheet_xml_whatever_its_cached_value(survey):
    errors = responses_import(
        survey=survey, data=small_edited(set_cell("再次购买意愿", 3, "=4")), file_name="f.xlsx"
    ).errors

    assert [(e.row, e.column, e.value) for e in errors] == [(3, "再次购买意愿", "=4")]
    assert "公式" in errors[0].reason
