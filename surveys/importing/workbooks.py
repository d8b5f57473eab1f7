"""Workbooks handed back to the person importing: the blank template, and their file with the errors marked."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core.logging import mask_phones
from core.spreadsheets.files import SHEET_MAX_COLUMNS, UnreadableFile, cell_text, read_sheet
from core.spreadsheets.results import ImportIssue
from core.spreadsheets.writing import safe_cell
from surveys.models import Survey

# What the error workbook echoes at most: the columns any readable file can have, the rows of a large survey, and
# the errors an import job keeps (core/spreadsheets/files.py, surveys/importing/jobs.py).
ERROR_WORKBOOK_MAX_COLUMNS = SHEET_MAX_COLUMNS
ERROR_WORKBOOK_MAX_DATA_ROWS = 200_000
ERROR_WORKBOOK_MAX_ROWS = 10_000
RED = PatternFill(start_color="FFFFC7CE", end_color="FFFFC7CE", fill_type="solid")
BOLD = Font(bold=True)
EXAMPLE_META = {
    "questionnaire_no": "示例-0001",
    "project_code": "SZ-JY01",
    "project_name": "金域华府一期",
    "unit": "3-2-1502",
    "owner_name": "张三",
    "phone": "13800138000",
    "move_in_date": date(2025, 6, 1),
    "surveyed_on": date(2026, 4, 3),
    "channel": "电话",
}


def response_template_xlsx(*, survey: Survey) -> bytes:
    """The survey's import columns with Chinese headers (its questionnaire's score questions, then its open
    comment questions), an example row, and 1–5 validation on score cells."""
    from surveys.importing.responses import META_COLUMNS
    from surveys.selectors import survey_answer_questions, survey_comment_questions

    questions = survey_answer_questions(survey=survey)
    comments = survey_comment_questions(survey=survey)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "问卷数据"
    headers = [spec.label for spec in META_COLUMNS] + [q.label for q in questions] + [q.label for q in comments]
    sheet.append(headers)
    example = (
        [EXAMPLE_META[spec.key] for spec in META_COLUMNS]
        + [(5 - position % 3) for position in range(len(questions))]
        + ["（示例）" for _ in comments]
    )
    sheet.append(example)
    for cell in sheet[1]:
        cell.font = BOLD
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(header) * 2 + 2)
    for row in sheet.iter_rows(min_row=2, max_row=2):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    first_score = len(META_COLUMNS) + 1
    if questions:
        validation = DataValidation(
            type="whole",
            operator="between",
            formula1="1",
            formula2="5",
            allow_blank=True,
            showErrorMessage=True,
            errorTitle="评分",
            error="评分必须是 1–5 的整数；未作答请留空",
        )
        sheet.add_data_validation(validation)
        last_score = get_column_letter(first_score + len(questions) - 1)
        validation.add(f"{get_column_letter(first_score)}2:{last_score}100000")
    channels = DataValidation(type="list", formula1='"电话,网络,上门,纸质"', allow_blank=True)
    sheet.add_data_validation(channels)
    channel_column = get_column_letter([spec.key for spec in META_COLUMNS].index("channel") + 1)
    channels.add(f"{channel_column}2:{channel_column}100000")
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("说明")
    notes.append(["列", "英文键", "必填", "说明"])
    for cell in notes[1]:
        cell.font = BOLD
    required = {"questionnaire_no", "project_code", "unit", "owner_name", "surveyed_on"}
    explain = {
        "questionnaire_no": "本次调查内唯一；重新导入时按它更新",
        "project_name": "新楼盘编码必填",
        "move_in_date": "留空 = 尚未入住",
        "surveyed_on": "2026-03-05、2026/3/5、2026年3月5日或日期单元格",
        "channel": "电话、网络、上门、纸质",
    }
    for spec in META_COLUMNS:
        notes.append([spec.label, spec.key, "是" if spec.key in required else "", explain.get(spec.key, "")])
    for q in questions:
        notes.append([q.label, q.code, "列必须有" if q.required else "", "1–5 的整数；留空、N/A 或“不适用” = 未作答"])
    for q in comments:
        notes.append([q.label, q.code, "", "开放意见，文字，最多 2000 字；留空 = 无意见（不计入满意度）"])
    notes.append([])
    notes.append(["第 2 行是示例，导入前请删除或改为真实数据。"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_errors_xlsx(*, data: bytes, file_name: str, errors: list[ImportIssue]) -> bytes:
    """The uploaded sheet with each bad cell filled red and its reason as a comment, plus an "错误清单" sheet."""
    suffix = file_name.lower().rsplit(".", 1)[-1] if "." in file_name else ""
    try:
        parsed = read_sheet(data=data, file_name=file_name, truncate_columns=True)
    except UnreadableFile:
        parsed = None
    # The file's own workbook (formats kept) only when it is within bounds; else its values, cut to size.
    last_row = int(parsed.row_numbers[-1]) if parsed is not None and len(parsed.row_numbers) else 1
    within_bounds = parsed is not None and last_row <= ERROR_WORKBOOK_MAX_DATA_ROWS
    workbook = None
    if suffix == "xlsx" and within_bounds and not _wider_than_read(data):
        try:
            workbook = load_workbook(io.BytesIO(data))
        except Exception:  # noqa: BLE001 - fall back to the values as read
            workbook = None
    if workbook is not None:
        sheet = workbook.worksheets[0]
        for extra in workbook.worksheets[1:]:
            workbook.remove(extra)
        headers = [cell_text(cell.value) for cell in sheet[1]]
        _mask_sheet(sheet)
    else:
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "数据"
        headers = _copy_values(sheet, parsed=parsed)
    column_of = {}
    for index, header in enumerate(headers, start=1):
        column_of.setdefault(header, index)
    for issue in errors:
        column = column_of.get(issue.column)
        if issue.row < 1 or column is None:
            continue
        cell = sheet.cell(row=issue.row, column=column)
        cell.fill = RED
        reason = mask_phones(issue.reason)
        text = reason if cell.comment is None else f"{cell.comment.text}\n{reason}"
        cell.comment = Comment(text, "导入检查")
    listing = workbook.create_sheet("错误清单")
    listing.append(["行", "列", "值", "原因"])
    for cell in listing[1]:
        cell.font = BOLD
    for issue in errors[:ERROR_WORKBOOK_MAX_ROWS]:
        listing.append(
            [issue.row, safe_cell(issue.column), safe_cell(mask_phones(issue.value)), safe_cell(mask_phones(issue.reason))]
        )
    if len(errors) > ERROR_WORKBOOK_MAX_ROWS:
        listing.append(["", "", "", f"仅列出前 {ERROR_WORKBOOK_MAX_ROWS} 条错误（共 {len(errors)} 条）；改正后重新上传可看到其余错误。"])
    listing.column_dimensions["B"].width = 16
    listing.column_dimensions["C"].width = 20
    listing.column_dimensions["D"].width = 80
    listing.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _copy_values(sheet, *, parsed) -> list[str]:
    """A csv, xls or oversized sheet as plain values (row numbers kept: blank rows stay blank), at most
    ERROR_WORKBOOK_MAX_COLUMNS columns and ERROR_WORKBOOK_MAX_DATA_ROWS rows."""
    if parsed is None:
        return []
    sheet.append([safe_cell(header) for header in parsed.headers])
    for position, row_number in enumerate(parsed.row_numbers[:ERROR_WORKBOOK_MAX_DATA_ROWS]):
        for index, column in enumerate(parsed.columns, start=1):
            value = safe_cell(mask_phones(cell_text(column[position])))
            sheet.cell(row=int(row_number), column=index, value=value or None)
    return parsed.headers


def _mask_sheet(sheet) -> None:
    """Phones masked in every cell, typed as text or as a number (an 11-digit number cell is a phone too)."""
    for row in sheet.iter_rows():
        for cell in row:
            value = cell.value
            if isinstance(value, str):
                masked = mask_phones(value)
            elif isinstance(value, int | float) and not isinstance(value, bool) and 1e10 <= value < 2e10:
                masked = mask_phones(str(int(value)))
            else:
                continue
            if masked != value and masked != str(value):
                cell.value = masked


def _wider_than_read(data: bytes) -> bool:
    """Whether an xlsx declares more columns than a readable sheet has (openpyxl would load them all)."""
    try:
        from openpyxl.utils.cell import range_boundaries

        workbook = load_workbook(io.BytesIO(data), read_only=True)
        dimension = workbook.worksheets[0].calculate_dimension()
        workbook.close()
        return range_boundaries(dimension)[2] > ERROR_WORKBOOK_MAX_COLUMNS
    except Exception:  # noqa: BLE001 - no usable dimension: treat as too wide, copy the values instead
        return True


CHANNEL_LABELS = {"phone": "电话", "online": "网络", "visit": "上门", "paper": "纸质"}


def responses_export_xlsx(*, survey: Survey, responses) -> bytes:
    """A wave's responses (a queryset, filtered or not) in the import format: the template's columns headed by their
    Chinese labels, one row per questionnaire, so that importing the file into the wave again changes nothing.

    The phone column is left out: the export is for reading the answers, and a blank phone would change nothing
    on import anyway. Text cells go through ``safe_cell`` (the importer reads its quote back).
    """
    from surveys.answers import decode_answers
    from surveys.importing.responses import META_COLUMNS
    from surveys.selectors import survey_answer_questions, survey_comment_questions, survey_comments

    questions = survey_answer_questions(survey=survey)
    comment_questions = survey_comment_questions(survey=survey)
    codes = [q.code for q in questions]
    meta = [spec for spec in META_COLUMNS if spec.key != "phone"]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("问卷数据")
    sheet.append([spec.label for spec in meta] + [q.label for q in questions] + [q.label for q in comment_questions])
    rows = responses.select_related("owner", "project").order_by("questionnaire_no", "id")
    for chunk_start in range(0, rows.count(), 2000):
        chunk = list(rows[chunk_start : chunk_start + 2000])
        comments = survey_comments(survey=survey, response_ids=[r.pk for r in chunk]) if comment_questions else {}
        for response in chunk:
            values = {
                "questionnaire_no": response.questionnaire_no,
                "project_code": response.project.code,
                "project_name": response.project.name,
                "unit": response.owner.unit,
                "owner_name": response.owner.name,
                "move_in_date": response.owner.move_in_date,
                "surveyed_on": response.surveyed_on,
                "channel": CHANNEL_LABELS.get(response.channel, ""),
            }
            scores = decode_answers(codes, response.answers)
            texts = comments.get(response.pk, {})
            sheet.append(
                [safe_cell(values[spec.key]) for spec in meta]
                + [scores[code] for code in codes]
                + [safe_cell(texts.get(q.code, "")) or None for q in comment_questions]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
