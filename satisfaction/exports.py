"""Excel/CSV exports. Every text cell passes through ``safe_cell`` so a spreadsheet never runs it as a formula."""

import io
from dataclasses import dataclass, field

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from core.spreadsheets.writing import safe_cell
from satisfaction.metrics.engine import TOO_FEW_N

METRIC_COLUMNS = [
    ("survey", "调查"),
    ("port", "端口"),
    ("project", "楼盘编码"),
    ("stage", "业主阶段"),
    ("n", "样本量"),
    ("satisfied", "满意数"),
    ("satisfaction_rate", "满意度"),
    ("satisfaction_ci_low", "满意度区间下限"),
    ("satisfaction_ci_high", "满意度区间上限"),
    ("mean_score", "平均分"),
    ("loyalty_base", "忠诚度基数"),
    ("loyal", "忠诚数"),
    ("loyalty_rate", "忠诚度"),
    ("loyalty_ci_low", "忠诚度区间下限"),
    ("loyalty_ci_high", "忠诚度区间上限"),
    ("weighted_rate", "加权满意度（按业主总体）"),
    ("weighted_ci_low", "加权满意度区间下限（n = 有效样本量）"),
    ("weighted_ci_high", "加权满意度区间上限"),
    ("n_eff", "有效样本量（Kish）"),
    ("weighted_loyalty_rate", "加权忠诚度"),
    ("weighted_loyalty_ci_low", "加权忠诚度区间下限"),
    ("weighted_loyalty_ci_high", "加权忠诚度区间上限"),
    ("loyalty_n_eff", "忠诚度有效样本量"),
    ("weighted_missing_cells", "总体中无人作答的单元（楼盘/阶段）"),
    ("weighted_outside_cells", "有作答但不在总体中的单元（权重 0）"),
    ("change_from_survey", "满意度比较的上次调查（同一系列）"),
    ("change_z", "满意度变化 z"),
    ("change_p_value", "满意度变化 p 值"),
    ("change_significant", "满意度变化是否显著"),
    ("loyalty_change_from_survey", "忠诚度比较的上次调查（同一系列）"),
    ("loyalty_change_z", "忠诚度变化 z"),
    ("loyalty_change_p_value", "忠诚度变化 p 值"),
    ("loyalty_change_significant", "忠诚度变化是否显著"),
]


def metric_rows_xlsx(rows: list[dict]) -> bytes:
    """Metric rows as an xlsx sheet headed by the contract keys, numbers unrounded; a second sheet names the columns."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "metrics"
    sheet.append([key for key, _ in METRIC_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        flat = dict(row)
        for name in ("satisfaction", "loyalty", "weighted", "weighted_loyalty"):
            ci = flat.pop(f"{name}_ci", None)
            flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = (ci if ci else (None, None))
        for name in ("weighted_missing_cells", "weighted_outside_cells"):
            cells = flat.get(name)
            flat[name] = None if cells is None else "、".join(f"{project}/{stage}" for project, stage in cells)
        for name in ("change", "loyalty_change"):
            change = flat.pop(name, None) or {}
            for part in ("from_survey", "z", "p_value", "significant"):
                flat[f"{name}_{part}"] = change.get(part)
        sheet.append([safe_cell(flat.get(key)) for key, _ in METRIC_COLUMNS])
    sheet.freeze_panes = "A2"
    legend = workbook.create_sheet("columns")
    legend.append(["key", "说明"])
    for key, label in METRIC_COLUMNS:
        legend.append([key, label])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Project score card (楼盘得分卡), laid out for printing -------------------------------------------------------


@dataclass(frozen=True)
class ScorecardSection:
    """One table of the score card: a heading, Chinese column headers and rows of plain values.

    ``formats`` gives each column's number format ("pct" = 0.0 %, "num" = 0.00, "int", "" = text);
    ``greyed`` marks cells whose base is below 30 (shown grey and italic: 样本不足).
    """

    title: str
    headers: list[str]
    rows: list[list]
    formats: list[str]
    greyed: list[list[bool]] = field(default_factory=list)


NUMBER_FORMATS = {"pct": "0.0%", "num": "0.00", "int": "0"}


def scorecard_xlsx(
    *,
    sections: list[ScorecardSection],
    project_code: str,
    project_name: str,
    survey_code: str,
    survey_name: str,
    slice_note: str,
    computed_at,
) -> bytes:
    """A project's score card as one printable sheet: title, survey, then each section's table.

    Numbers are stored unrounded and shown through number formats; every text cell goes through ``safe_cell``.
    A4 landscape, fitted to one page wide, header rows of each section bold, print area set.
    """
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "楼盘得分卡"
    width = max(len(section.headers) for section in sections) if sections else 2
    title_font = Font(bold=True, size=14)
    bold = Font(bold=True)
    grey = Font(color="808080", italic=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")
    thin = Side(style="thin", color="A0A0A0")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    sheet.append([safe_cell("楼盘得分卡")])
    sheet.cell(row=1, column=1).font = title_font
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append([safe_cell("楼盘"), safe_cell(project_name), safe_cell("楼盘编码"), safe_cell(project_code)])
    sheet.append([safe_cell("调查"), safe_cell(survey_name), safe_cell("调查编码"), safe_cell(survey_code)])
    computed = timezone.localtime(computed_at).strftime("%Y-%m-%d %H:%M") if computed_at else "尚未计算"
    sheet.append([safe_cell("细项范围"), safe_cell(slice_note), safe_cell("数据计算于"), safe_cell(computed)])
    for row in sheet.iter_rows(min_row=2, max_row=4, max_col=4):
        row[0].font = bold
        row[2].font = bold
    for section in sections:
        sheet.append([])
        sheet.append([safe_cell(section.title)])
        sheet.cell(row=sheet.max_row, column=1).font = bold
        sheet.append([safe_cell(header) for header in section.headers])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
            cell.fill = header_fill
            cell.border = box
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for r, values in enumerate(section.rows):
            sheet.append([safe_cell(value) for value in values])
            greyed = section.greyed[r] if r < len(section.greyed) else []
            for c, cell in enumerate(sheet[sheet.max_row]):
                cell.border = box
                fmt = section.formats[c] if c < len(section.formats) else ""
                if fmt in NUMBER_FORMATS:
                    cell.number_format = NUMBER_FORMATS[fmt]
                    cell.alignment = Alignment(horizontal="right")
                if c < len(greyed) and greyed[c]:
                    cell.font = grey
    sheet.append([])
    sheet.append([safe_cell(
        f"灰色斜体 = 样本不足（n < {TOO_FEW_N}）；区间为 95% Wilson 置信区间；数值未经四舍五入，按格式显示一位小数。"
    )])
    sheet.column_dimensions["A"].width = 24
    for column in range(2, width + 1):
        sheet.column_dimensions[get_column_letter(column)].width = 14
    last = f"{get_column_letter(width)}{sheet.max_row}"
    sheet.print_area = f"A1:{last}"
    sheet.page_setup.orientation = sheet.ORIENTATION_LANDSCAPE
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.oddFooter.center.text = "第 &[Page] 页，共 &N 页"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
