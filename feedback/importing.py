"""Import of feedback records and external survey reports from Excel or CSV, all or nothing.

The contract is the survey-response importer's (DESIGN.md §4): columns by key or Chinese label, rows numbered as
the spreadsheet numbers them (header = row 1), every error listed with row, column, value and reason, and
nothing written when there is any. Feedback re-imported unchanged changes nothing; a changed row updates its
record, with history.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from core.spreadsheets.cells import FORMULA_REASON, parse_date
from core.spreadsheets.files import Sheet, UnreadableFile, cell_text, read_sheet
from departments.ports import PortCode
from feedback.models import ExternalBenchmark, Feedback, FeedbackKind, FeedbackSeverity, FeedbackStatus
from feedback.services import benchmark_create, benchmark_row_validate, feedback_validate
from owners.models import Owner, Project
from owners.stages import Stage
from surveys.importer import ImportIssue, ImportResult, upload_check
from surveys.models import ImportJob

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Formula:
    text: str


def load_sheet(*, data: bytes, file_name: str) -> tuple[Sheet | None, ImportResult]:
    """The first sheet through the survey importer's checks and reader; a refused file comes back as errors."""
    refusals = upload_check(file_name=file_name, data=data)
    if refusals:
        return None, ImportResult.refusal(refusals, file_name=file_name)
    try:
        return read_sheet(data=data, file_name=file_name), ImportResult()
    except UnreadableFile as exc:
        return None, ImportResult.refusal([str(exc)], file_name=file_name)


_text = cell_text


def parse_rate(value) -> float:
    """85.3% or 0.853 (a number above 1 is read as a percentage: 85.3 → 85.3%)."""
    text = _text(value).replace("％", "%")
    try:
        if text.endswith("%"):
            rate = float(text[:-1]) / 100
        else:
            rate = float(text)
            if rate > 1:
                rate /= 100
    except ValueError:
        raise ValueError("比例无法识别（可用 85.3%、0.853 或 85.3）") from None
    if not 0 <= rate <= 1:
        raise ValueError("比例必须在 0%–100% 之间")
    return rate


def _choice(choices, value: str, what: str) -> str:
    """A code or its Chinese label → the code."""
    text = _text(value)
    for code, label in choices:
        if text in (code, str(label)):
            return code
    raise ValueError(f"未知{what}，可选：{'、'.join(str(label) for _, label in choices)}")


# ---------------------------------------------------------------------------------------------------------------
# Columns: header by key or label, unknown and missing columns
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    required: bool


def _map_header(header: list, columns: list[Column], errors: list) -> dict[str, int]:
    """Column key → index; unknown, repeated and missing required columns are errors on row 1."""
    by_name = {}
    for column in columns:
        by_name[column.key] = column
        by_name[column.label] = column
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _text(cell)
        if not name:
            continue
        column = by_name.get(name)
        if column is None:
            errors.append(ImportIssue(1, name, name, "未知列"))
        elif column.key in found:
            errors.append(ImportIssue(1, name, name, "列重复"))
        else:
            found[column.key] = index
    for column in columns:
        if column.required and column.key not in found:
            errors.append(ImportIssue(1, column.label, "", "缺少必需列"))
    return found


@dataclass
class _Row:
    number: int
    cells: dict[str, object]
    header_names: dict[str, str]
    errors: list

    def raw(self, key: str):
        return self.cells.get(key)

    def text(self, key: str) -> str:
        return _text(self.cells.get(key))

    def error(self, key: str, reason: str) -> None:
        self.errors.append(ImportIssue(self.number, self.header_names.get(key, key), self.text(key), reason))

    def parsed(self, key: str, parse: Callable, *, required: bool):
        """The parsed cell, None when blank (an error if required) or when it does not parse (error listed)."""
        value = self.cells.get(key)
        if isinstance(value, Formula):
            self.errors.append(ImportIssue(self.number, self.header_names.get(key, key), value.text, FORMULA_REASON))
            return None
        if _text(value) == "":
            if required:
                self.error(key, "必填")
            return None
        try:
            return parse(value)
        except ValueError as exc:
            self.error(key, str(exc))
            return None


def _rows(sheet: Sheet, columns: list[Column], errors: list):
    """Yield a _Row for each non-blank data row (or nothing if the header is unusable)."""
    found = _map_header(sheet.headers, columns, errors)
    header_names = {key: sheet.headers[index] for key, index in found.items()}
    for position, number in enumerate(sheet.row_numbers.tolist()):
        cells = {}
        for key, index in found.items():
            formula = sheet.formulas.get((number, index))
            cells[key] = Formula(formula) if formula is not None else sheet.columns[index][position]
        yield _Row(number, cells, header_names, errors)


# ---------------------------------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------------------------------

FEEDBACK_COLUMNS = [
    Column("reference", "反馈编号", True),
    Column("kind", "反馈类型", True),
    Column("project_code", "楼盘编码", True),
    Column("unit", "房号", False),
    Column("owner_name", "业主姓名", False),
    Column("port", "责任端口", True),
    Column("received_on", "受理日期", True),
    Column("severity", "严重程度", False),
    Column("status", "处理状态", False),
    Column("closed_on", "关闭日期", False),
    Column("description", "反馈内容", True),
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
COMPARED_FIELDS = ("kind", "project_id", "owner_id", "unit", "port", "received_on", "severity", "status", "closed_on", "description")


def feedback_import(*, data: bytes, file_name: str, created_by=None, today: date | None = None) -> ImportResult:
    """Validate the whole file; write it in one transaction only if no row has an error."""
    table, result = load_sheet(data=data, file_name=file_name)
    if table is None:
        return result
    errors = result.errors
    parsed_rows = []
    references: dict[str, int] = {}
    rows = list(_rows(table, FEEDBACK_COLUMNS, errors))
    result.total_rows = len(rows)
    if any(issue.row == 1 for issue in errors):
        return result
    projects = {p.code: p for p in Project.objects.filter(code__in={r.text("project_code") for r in rows}).order_by("id")}
    for row in rows:
        reference = row.parsed("reference", _text, required=True)
        if reference:
            if reference in references:
                row.error("reference", f"反馈编号与第 {references[reference]} 行重复")
            else:
                references[reference] = row.number
        kind = row.parsed("kind", lambda v: _choice(FeedbackKind.choices, v, "反馈类型"), required=True)
        port = row.parsed("port", lambda v: _choice(PortCode.choices, v, "端口"), required=True)
        severity = row.parsed("severity", lambda v: _choice(FeedbackSeverity.choices, v, "严重程度"), required=False)
        status = row.parsed("status", lambda v: _choice(FeedbackStatus.choices, v, "处理状态"), required=False)
        received_on = row.parsed("received_on", parse_date, required=True)
        closed_on = row.parsed("closed_on", parse_date, required=False)
        description = row.parsed("description", _text, required=True)
        code = row.parsed("project_code", _text, required=True)
        project = projects.get(code) if code else None
        if code and project is None:
            row.error("project_code", "楼盘不存在，请先在业主档案中建立该楼盘")
        unit = row.text("unit")
        owner = None
        owner_name = row.text("owner_name")
        if owner_name and project is not None:
            if not unit:
                row.error("unit", "填写业主姓名时必须填写房号")
            else:
                owner = Owner.objects.filter(project=project, unit=unit, name=owner_name).first()
                if owner is None:
                    row.error("owner_name", "该楼盘、房号下没有这位业主")
        before = len(errors)
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
                row.error(FEEDBACK_FIELD_COLUMN.get(field_name, field_name), reason)
        if len(errors) == before:
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
    if not rows and not errors:
        errors.append(ImportIssue(2, "", "", "文件没有数据行"))
    if errors:
        return result
    with transaction.atomic():
        existing = {
            f.reference: f for f in Feedback.objects.select_for_update().filter(reference__in=references).order_by("id")
        }
        for values in parsed_rows:
            feedback = existing.get(values["reference"])
            if feedback is None:
                feedback = Feedback(created_by=created_by, **values)
                feedback.full_clean()
                feedback.save()
                result.created += 1
                continue
            changed = [name for name, value in values.items() if getattr(feedback, name) != value]
            if not changed:
                result.unchanged += 1
                continue
            for name in changed:
                setattr(feedback, name, values[name])
            feedback.full_clean()
            # A plain save (not a bulk update) so that the history keeps the previous version.
            feedback.save(update_fields=[*changed, "updated_at"])
            result.updated += 1
    return result


# ---------------------------------------------------------------------------------------------------------------
# External survey reports
# ---------------------------------------------------------------------------------------------------------------

BENCHMARK_COLUMNS = [
    Column("project_code", "楼盘编码", False),
    Column("port", "端口", False),
    Column("stage", "业主阶段", False),
    Column("sample_size", "样本量", True),
    Column("satisfaction_rate", "满意度", True),
    Column("loyalty_rate", "忠诚度", False),
]
HEADLINE_WORDS = {"核心指标", "总体", "headline"}
ALL_STAGE_WORDS = {"全部", "全部阶段", "all"}


def _port(value) -> str:
    return "" if _text(value) in HEADLINE_WORDS else _choice(PortCode.choices, value, "端口")


def _stage(value) -> str:
    return "" if _text(value) in ALL_STAGE_WORDS else _choice(Stage.choices, value, "业主阶段")


def _positive_int(value) -> int:
    text = _text(value)
    if not re.fullmatch(r"\d+", text) or int(text) <= 0:
        raise ValueError("样本量必须是正整数")
    return int(text)


def benchmark_import(
    *, data: bytes, file_name: str, name: str, source: str, report_on: date, notes: str = "", created_by=None
) -> tuple[ExternalBenchmark | None, ImportResult]:
    """A new named external report from a file of slices; nothing written if any row or the header is wrong."""
    table, result = load_sheet(data=data, file_name=file_name)
    if table is None:
        return None, result
    errors = result.errors
    if ExternalBenchmark.objects.filter(name=name.strip(), report_on=report_on).exists():
        errors.append(ImportIssue(0, "报告名称", name, "同名同日期的外部调查报告已存在"))
    rows = list(_rows(table, BENCHMARK_COLUMNS, errors))
    if any(issue.row == 1 for issue in errors):
        return None, result
    projects = {p.code: p for p in Project.objects.filter(code__in={r.text("project_code") for r in rows}).order_by("id")}
    slices: dict[tuple, int] = {}
    parsed = []
    for row in rows:
        code = row.text("project_code")
        project = projects.get(code) if code else None
        if code and project is None:
            row.error("project_code", "楼盘不存在")
        port = row.parsed("port", _port, required=False) or ""
        stage = row.parsed("stage", _stage, required=False) or ""
        sample_size = row.parsed("sample_size", _positive_int, required=True)
        rate = row.parsed("satisfaction_rate", parse_rate, required=True)
        loyalty = row.parsed("loyalty_rate", parse_rate, required=False)
        key = (code, port, stage)
        if key in slices:
            row.error("project_code" if code else "port", f"与第 {slices[key]} 行是同一楼盘、端口、阶段")
        else:
            slices[key] = row.number
        if sample_size is not None and rate is not None:
            problems = benchmark_row_validate(
                port=port, stage=stage, sample_size=sample_size, satisfaction_rate=rate, loyalty_rate=loyalty
            )
            for field_name, reason in problems.items():
                row.error(field_name, reason)
        parsed.append(
            {"project": project, "port": port, "stage": stage, "sample_size": sample_size,
             "satisfaction_rate": rate, "loyalty_rate": loyalty}
        )
    if not rows and not errors:
        errors.append(ImportIssue(2, "", "", "文件没有数据行"))
    if errors:
        return None, result
    try:
        benchmark = benchmark_create(
            name=name, source=source, report_on=report_on, notes=notes, rows=parsed, created_by=created_by
        )
    except ValidationError as exc:  # a race with another upload of the same report
        for message in exc.messages:
            errors.append(ImportIssue(0, "", "", message))
        return None, result
    result.created = len(parsed)
    return benchmark, result


# ---------------------------------------------------------------------------------------------------------------
# Feedback imports in the import history, and the blank template
# ---------------------------------------------------------------------------------------------------------------


def feedback_import_recorded(
    *, data: bytes, file_name: str, user=None, today: date | None = None
) -> tuple[ImportJob | None, ImportResult]:
    """``feedback_import`` kept in the import history (导入记录) as an ImportJob of kind feedback: the file, its
    SHA-256, who uploaded it, the counts, the outcome and every error (so the error workbook can be downloaded).

    Feedback files are small and imported at once, not queued. A file refused before parsing (wrong type, too
    large) is not kept, as for the other imports: the job is None and the result lists the reasons.
    """
    from surveys.importing.jobs import MAX_STORED_ERRORS

    refusals = upload_check(file_name=file_name, data=data)
    if refusals:
        return None, ImportResult.refusal(refusals, file_name=file_name)
    sha256 = hashlib.sha256(data).hexdigest()
    job = ImportJob(
        kind=ImportJob.Kind.FEEDBACK,
        created_by=user if getattr(user, "pk", None) else None,
        file_name=file_name[:255],
        sha256=sha256,
        status=ImportJob.Status.RUNNING,
    )
    suffix = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else "bin"
    job.file.save(f"feedback-{timezone.now():%Y%m%d-%H%M%S}.{suffix}", ContentFile(data), save=False)
    job.save()
    try:
        result = feedback_import(data=data, file_name=file_name, created_by=job.created_by, today=today)
    except Exception:
        logger.exception("feedback import job %s failed", job.pk)
        result = ImportResult.refusal(["导入时发生系统错误，未写入任何数据：请联系管理员"], file_name=file_name)
    job.progress = 100
    job.total_rows = result.total_rows
    job.created_count, job.updated_count, job.unchanged_count = result.created, result.updated, result.unchanged
    job.errors = [issue.as_dict() for issue in result.errors[:MAX_STORED_ERRORS]]
    job.finished_at = timezone.now()
    if not result.ok:
        job.status = ImportJob.Status.FAILED
        job.message = (
            "；".join(issue.reason for issue in result.errors)
            if result.refused
            else f"发现 {len(result.errors)} 个错误，未写入任何数据"
        )
    else:
        job.status = ImportJob.Status.SUCCEEDED
        job.message = f"新增 {result.created}，更新 {result.updated}，未变化 {result.unchanged}"
        if result.created == 0 and result.updated == 0:
            previous = (
                ImportJob.objects.filter(kind=job.kind, sha256=sha256, status=ImportJob.Status.SUCCEEDED)
                .exclude(pk=job.pk)
                .order_by("-finished_at", "-id")
                .first()
            )
            if previous is not None:
                job.status = ImportJob.Status.UNCHANGED
                done_at = timezone.localtime(previous.finished_at or previous.created_at)
                job.message = f"文件与 {done_at:%Y-%m-%d %H:%M} 导入的文件相同，未作任何更改"
    job.save()
    return job, result


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
