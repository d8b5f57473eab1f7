"""Import of feedback records and external survey reports from Excel or CSV, all or nothing.

The contract is the survey-response importer's (DESIGN.md §4), read by the same column parser
(``core.spreadsheets.cells``): columns by key or Chinese label, rows numbered as the spreadsheet numbers them
(header = row 1), every error listed with row, column, value and reason, and nothing written when there is any.
Feedback re-imported unchanged changes nothing; a changed row updates its record, with history. Feedback files run
as background import jobs like the others (registered in ``FeedbackConfig.ready``).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation

from core.spreadsheets import cells
from core.spreadsheets.cells import CellError, ColumnSpec, IssueList, ParsedColumn
from core.spreadsheets.files import Sheet, cell_text, read_checked
from core.spreadsheets.results import ImportIssue, ImportResult, Progress, report_progress
from departments.ports import PortCode
from feedback.events import feedback_changed_send
from feedback.models import ExternalBenchmark, Feedback, FeedbackKind, FeedbackSeverity, FeedbackStatus
from feedback.services import benchmark_create, benchmark_row_validate, feedback_validate
from owners.models import Owner, Project
from owners.stages import Stage

logger = logging.getLogger(__name__)



def parse_rate(value) -> float | None:
    """85.3% or 0.853 (a number above 1 is read as a percentage: 85.3 → 85.3%); blank = None."""
    text = cell_text(value).replace("％", "%")
    if not text:
        return None
    try:
        if text.endswith("%"):
            rate = float(text[:-1]) / 100
        else:
            rate = float(text)
            if rate > 1:
                rate /= 100
    except ValueError:
        raise CellError("比例无法识别（可用 85.3%、0.853 或 85.3）") from None
    if not 0 <= rate <= 1:
        raise CellError("比例必须在 0%–100% 之间")
    return rate


def labelled_choice(choices, what: str, *, blank: dict[str, str] | None = None) -> Callable[[object], str]:
    """A cell holding a code or its Chinese label → the code; blank = "". ``blank`` maps further words to a code
    (an external report's 核心指标 → "" for the headline)."""
    with translation.override(None):
        labels = "、".join(str(label) for _, label in choices)
    return cells.labelled_choice_parser(choices, f"未知{what}，可选：{labels}", extra=blank)


def positive_int(value) -> int | None:
    text = cell_text(value)
    if not text:
        return None
    if not re.fullmatch(r"\d+", text) or int(text) <= 0:
        raise CellError("样本量必须是正整数")
    return int(text)


class _Rows:
    """The parsed columns read row by row, for the checks that look at several cells and at stored data."""

    def __init__(self, sheet: Sheet, columns: list[ColumnSpec], parsed: dict[str, ParsedColumn], issues: IssueList):
        self.sheet, self.parsed, self.issues = sheet, parsed, issues
        self.labels = {spec.key: spec.label for spec in columns}

    def __iter__(self):
        return iter(enumerate(self.sheet.row_numbers.tolist()))

    def __len__(self) -> int:
        return self.sheet.row_count

    def value(self, key: str, position: int):
        """The parsed cell; None when its column is absent or the cell was wrong (already listed)."""
        column = self.parsed.get(key)
        return None if column is None else column.values[position]

    def text(self, key: str, position: int) -> str:
        column = self.parsed.get(key)
        return "" if column is None else cell_text(self.sheet.columns[column.index][position])

    def error(self, key: str, position: int, reason: str) -> None:
        """A problem of the row found after parsing, reported on the cell of column ``key`` (by its label when
        the file lacks the column)."""
        column = self.parsed.get(key)
        self.issues.add(
            row=int(self.sheet.row_numbers[position]),
            column=column.header if column is not None else self.labels.get(key, key),
            value=self.text(key, position),
            reason=reason,
            column_index=column.index if column is not None else -1,
        )


def _read(*, data: bytes, file_name: str, columns: list[ColumnSpec]) -> tuple[_Rows | None, IssueList, ImportResult]:
    """The file parsed by ``columns``; no rows when the file was refused or its header row is wrong."""
    result = ImportResult()
    issues = IssueList()
    sheet = read_checked(data=data, file_name=file_name)
    if isinstance(sheet, ImportResult):
        return None, issues, sheet
    parsed = cells.parse_columns(sheet, columns, issues)
    result.total_rows = sheet.row_count
    if any(issue.row == 1 for issue in issues.sorted()):
        return None, issues, result
    return _Rows(sheet, columns, parsed, issues), issues, result


def _finish(result: ImportResult, issues: IssueList) -> ImportResult:
    result.errors = issues.sorted()
    return result


# ---------------------------------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------------------------------

FEEDBACK_COLUMNS = [
    ColumnSpec("reference", "反馈编号", cells.text_parser(64), required=True, few_distinct=False),
    ColumnSpec("kind", "反馈类型", labelled_choice(FeedbackKind.choices, "反馈类型"), required=True),
    ColumnSpec("project_code", "楼盘编码", cells.text_parser(32), required=True),
    ColumnSpec("unit", "房号", cells.text_parser(32)),
    ColumnSpec("owner_name", "业主姓名", cells.text_parser(50)),
    ColumnSpec("port", "责任端口", labelled_choice(PortCode.choices, "端口"), required=True),
    ColumnSpec("received_on", "受理日期", cells.parse_date, required=True),
    ColumnSpec("severity", "严重程度", labelled_choice(FeedbackSeverity.choices, "严重程度")),
    ColumnSpec("status", "处理状态", labelled_choice(FeedbackStatus.choices, "处理状态")),
    ColumnSpec("closed_on", "关闭日期", cells.parse_date),
    ColumnSpec("description", "反馈内容", cell_text, required=True, few_distinct=False),
]
FEEDBACK_FIELD_COLUMN = {
    "kind": "kind",
    "project": "project_code",
    "port": "port",
    "received_on": "received_on",
    "description": "description",
    "severity": "severity",
    "status": "status",
    "closed_on": "closed_on",
    "owner": "owner_name",
}


def feedback_import(
    *, data: bytes, file_name: str, created_by=None, today: date | None = None, progress: Progress = None
) -> ImportResult:
    """Validate the whole file; write it in one transaction only if no row has an error."""
    report_progress(progress, 1)
    rows, issues, result = _read(data=data, file_name=file_name, columns=FEEDBACK_COLUMNS)
    if rows is None:
        return result if result.errors else _finish(result, issues)
    report_progress(progress, 30)
    parsed_rows = []
    references: dict[str, int] = {}
    codes = {rows.value("project_code", position) for position, _ in rows} - {None, ""}
    projects = {p.code: p for p in Project.objects.filter(code__in=codes).order_by("id")}
    for position, number in rows:
        reference = rows.value("reference", position)
        if reference:
            if reference in references:
                rows.error("reference", position, f"反馈编号与第 {references[reference]} 行重复")
            else:
                references[reference] = number
        kind, port = rows.value("kind", position), rows.value("port", position)
        severity, status = rows.value("severity", position), rows.value("status", position)
        received_on, closed_on = rows.value("received_on", position), rows.value("closed_on", position)
        description, code = rows.value("description", position), rows.value("project_code", position)
        project = projects.get(code) if code else None
        if code and project is None:
            rows.error("project_code", position, "楼盘不存在，请先在业主档案中建立该楼盘")
        unit = rows.value("unit", position) or ""
        owner = None
        owner_name = rows.value("owner_name", position) or ""
        if owner_name and project is not None:
            if not unit:
                rows.error("unit", position, "填写业主姓名时必须填写房号")
            else:
                owner = Owner.objects.filter(project=project, unit=unit, name=owner_name).first()
                if owner is None:
                    rows.error("owner_name", position, "该楼盘、房号下没有这位业主")
        if None not in (kind, port, received_on, description, project) and (owner or not owner_name):
            problems = feedback_validate(
                kind=kind,
                project=project,
                port=port,
                received_on=received_on,
                description=description,
                severity=severity or FeedbackSeverity.NORMAL,
                status=status or FeedbackStatus.OPEN,
                closed_on=closed_on,
                owner=owner,
                today=today,
            )
            for field_name, reason in problems.items():
                rows.error(FEEDBACK_FIELD_COLUMN.get(field_name, field_name), position, reason)
        parsed_rows.append(
            {
                "reference": reference,
                "kind": kind,
                "project": project,
                "owner": owner,
                "unit": unit or (owner.unit if owner else ""),
                "port": port,
                "received_on": received_on,
                "severity": severity or FeedbackSeverity.NORMAL,
                "status": status or FeedbackStatus.OPEN,
                "closed_on": closed_on,
                "description": description,
            }
        )
    if not len(rows) and not issues:
        issues.add(row=2, column="", value="", reason="文件没有数据行")
    if issues:
        return _finish(result, issues)
    report_progress(progress, 60)
    with transaction.atomic():
        written: list[int] = []
        existing = {
            f.reference: f for f in Feedback.objects.select_for_update().filter(reference__in=references).order_by("id")
        }
        for done, values in enumerate(parsed_rows, start=1):
            feedback = existing.get(values["reference"])
            if feedback is None:
                feedback = Feedback(created_by=created_by, **values)
                feedback.full_clean()
                feedback.save()
                written.append(feedback.pk)
                result.created += 1
            else:
                changed = [name for name, value in values.items() if getattr(feedback, name) != value]
                if not changed:
                    result.unchanged += 1
                else:
                    for name in changed:
                        setattr(feedback, name, values[name])
                    feedback.full_clean()
                    # A plain save (not a bulk update) so that the history keeps the previous version.
                    feedback.save(update_fields=[*changed, "updated_at"])
                    written.append(feedback.pk)
                    result.updated += 1
            report_progress(progress, 60 + 38 * done / len(parsed_rows))
        feedback_changed_send(feedback_ids=written)
    report_progress(progress, 100)
    return result


def feedback_import_job_run(*, job, data: bytes, progress: Progress) -> ImportResult:
    """An ImportJob of kind feedback (see ``surveys.importing.jobs``); dates are judged as of the day it runs."""
    return feedback_import(
        data=data, file_name=job.file_name, created_by=job.created_by, today=timezone.localdate(), progress=progress
    )


# ---------------------------------------------------------------------------------------------------------------
# External survey reports
# ---------------------------------------------------------------------------------------------------------------

HEADLINE_WORDS = {"核心指标", "总体", "headline"}
ALL_STAGE_WORDS = {"全部", "全部阶段", "all"}
BENCHMARK_COLUMNS = [
    ColumnSpec("project_code", "楼盘编码", cells.text_parser(32)),
    ColumnSpec("port", "端口", labelled_choice(PortCode.choices, "端口", blank=dict.fromkeys(HEADLINE_WORDS, ""))),
    ColumnSpec("stage", "业主阶段", labelled_choice(Stage.choices, "业主阶段", blank=dict.fromkeys(ALL_STAGE_WORDS, ""))),
    ColumnSpec("sample_size", "样本量", positive_int, required=True),
    ColumnSpec("satisfaction_rate", "满意度", parse_rate, required=True),
    ColumnSpec("loyalty_rate", "忠诚度", parse_rate),
]


def benchmark_import(
    *, data: bytes, file_name: str, name: str, source: str, report_on: date, notes: str = "", created_by=None
) -> tuple[ExternalBenchmark | None, ImportResult]:
    """A new named external report from a file of slices; nothing written if any row or the header is wrong."""
    if ExternalBenchmark.objects.filter(name=name.strip(), report_on=report_on).exists():
        clash = ImportIssue(0, "报告名称", name, "同名同日期的外部调查报告已存在")
    else:
        clash = None
    rows, issues, result = _read(data=data, file_name=file_name, columns=BENCHMARK_COLUMNS)
    if clash is not None and not result.refused:
        issues.add(row=0, column=clash.column, value=clash.value, reason=clash.reason)
    if rows is None:
        return None, (result if result.refused else _finish(result, issues))
    codes = {rows.value("project_code", position) for position, _ in rows} - {None, ""}
    projects = {p.code: p for p in Project.objects.filter(code__in=codes).order_by("id")}
    slices: dict[tuple, int] = {}
    parsed = []
    for position, number in rows:
        code = rows.value("project_code", position) or ""
        project = projects.get(code) if code else None
        if code and project is None:
            rows.error("project_code", position, "楼盘不存在")
        port = rows.value("port", position) or ""
        stage = rows.value("stage", position) or ""
        sample_size = rows.value("sample_size", position)
        rate = rows.value("satisfaction_rate", position)
        loyalty = rows.value("loyalty_rate", position)
        key = (code, port, stage)
        if key in slices:
            rows.error("project_code" if code else "port", position, f"与第 {slices[key]} 行是同一楼盘、端口、阶段")
        else:
            slices[key] = number
        if sample_size is not None and rate is not None:
            problems = benchmark_row_validate(
                port=port, stage=stage, sample_size=sample_size, satisfaction_rate=rate, loyalty_rate=loyalty
            )
            for field_name, reason in problems.items():
                rows.error(field_name, position, reason)
        parsed.append(
            {"project": project, "port": port, "stage": stage, "sample_size": sample_size,
             "satisfaction_rate": rate, "loyalty_rate": loyalty}
        )
    if not len(rows) and not issues:
        issues.add(row=2, column="", value="", reason="文件没有数据行")
    if issues:
        return None, _finish(result, issues)
    try:
        benchmark = benchmark_create(
            name=name, source=source, report_on=report_on, notes=notes, rows=parsed, created_by=created_by
        )
    except ValidationError as exc:  # a race with another upload of the same report
        for message in exc.messages:
            issues.add(row=0, column="", value="", reason=message)
        return None, _finish(result, issues)
    result.created = len(parsed)
    return benchmark, result


# ---------------------------------------------------------------------------------------------------------------
# The blank template
# ---------------------------------------------------------------------------------------------------------------


FEEDBACK_TEMPLATE_NOTES = {
    "reference": "每条反馈唯一；再次导入时按它更新",
    "kind": "、".join(str(label) for _, label in FeedbackKind.choices),
    "project_code": "业主档案中已有的楼盘编码",
    "owner_name": "填写时必须同时填写房号，且该业主已在业主档案中",
    "port": "、".join(str(label) for _, label in PortCode.choices),
    "received_on": "2026-03-05、2026/3/5、2026年3月5日或日期单元格；不能晚于今天",
    "severity": "、".join(str(label) for _, label in FeedbackSeverity.choices) + "；留空 = 一般",
    "status": "、".join(str(label) for _, label in FeedbackStatus.choices) + "；留空 = 待处理",
    "closed_on": "处理状态为“已关闭”时必填，且不早于受理日期",
}


def feedback_template_xlsx(*, project_code: str = "SZ-JY01") -> bytes:
    """A blank feedback file: the Chinese headers, one example row, drop-down lists for kind, port, severity and
    status, date formats on the date columns, and a 说明 sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    example = {
        "reference": "FK-2026-0001",
        "kind": str(FeedbackKind.COMPLAINT.label),
        "project_code": project_code,
        "unit": "3-2-1502",
        "owner_name": "",
        "port": str(PortCode.PROPERTY.label),
        "received_on": date(2026, 3, 5),
        "severity": str(FeedbackSeverity.NORMAL.label),
        "status": str(FeedbackStatus.CLOSED.label),
        "closed_on": date(2026, 3, 9),
        "description": "地下车库照明损坏，已更换灯具",
    }
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "客户反馈"
    sheet.append([column.label for column in FEEDBACK_COLUMNS])
    sheet.append([example[column.key] for column in FEEDBACK_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    letter = {column.key: get_column_letter(index) for index, column in enumerate(FEEDBACK_COLUMNS, start=1)}
    for column in FEEDBACK_COLUMNS:
        width = 40 if column.key == "description" else max(12, len(column.label) * 2 + 4)
        sheet.column_dimensions[letter[column.key]].width = width
    for key in ("received_on", "closed_on"):
        sheet[f"{letter[key]}2"].number_format = "yyyy-mm-dd"
    lists = {
        "kind": ("反馈类型", FeedbackKind.choices),
        "port": ("责任端口", PortCode.choices),
        "severity": ("严重程度", FeedbackSeverity.choices),
        "status": ("处理状态", FeedbackStatus.choices),
    }
    for key, (title, choices) in lists.items():
        labels = ",".join(str(label) for _, label in choices)
        validation = DataValidation(
            type="list",
            formula1=f'"{labels}"',
            allow_blank=key in ("severity", "status"),
            showErrorMessage=True,
            errorTitle=title,
            error=f"请从下拉列表选择：{labels.replace(',', '、')}",
        )
        sheet.add_data_validation(validation)
        validation.add(f"{letter[key]}2:{letter[key]}10000")
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("说明")
    notes.append(["列", "英文键", "必填", "说明"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in FEEDBACK_COLUMNS:
        notes.append([column.label, column.key, "是" if column.required else "", FEEDBACK_TEMPLATE_NOTES.get(column.key, "")])
    notes.append([])
    notes.append(["第 2 行是示例，导入前请删除或改为真实数据；有任何错误时整个文件不写入。"])
    notes.column_dimensions["A"].width = 14
    notes.column_dimensions["D"].width = 60
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
