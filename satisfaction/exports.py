"""Excel/CSV exports. Every text cell passes through ``safe_cell`` so a spreadsheet never runs it as a formula."""

import io

from openpyxl import Workbook
from openpyxl.styles import Font

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")

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
]


def safe_cell(value):
    """Neutralise text that a spreadsheet would read as a formula (=, +, -, @, tab, CR, NUL) with a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


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
        for name in ("satisfaction", "loyalty"):
            ci = flat.pop(f"{name}_ci")
            flat[f"{name}_ci_low"], flat[f"{name}_ci_high"] = (ci if ci else (None, None))
        sheet.append([safe_cell(flat.get(key)) for key, _ in METRIC_COLUMNS])
    sheet.freeze_panes = "A2"
    legend = workbook.create_sheet("columns")
    legend.append(["key", "说明"])
    for key, label in METRIC_COLUMNS:
        legend.append([key, label])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
