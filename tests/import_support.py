"""Helpers shared by the import tests: the sample file, bad variants of it, and an independent reading of it."""

import functools
import io
from datetime import date, datetime

import openpyxl
import pandas as pd

from tests.support import SAMPLE_XLSX as SAMPLE


def sample_bytes() -> bytes:
    return SAMPLE.read_bytes()


def edited(edit) -> bytes:
    """The sample after ``edit(sheet)`` (openpyxl worksheet), as xlsx bytes."""
    workbook = openpyxl.load_workbook(io.BytesIO(sample_bytes()))
    edit(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def column_of(sheet, header: str) -> int:
    for cell in sheet[1]:
        if cell.value == header:
            return cell.column
    raise KeyError(header)


def set_cell(header: str, row: int, value):
    def edit(sheet):
        sheet.cell(row=row, column=column_of(sheet, header)).value = value

    return edit


def sample_frame() -> pd.DataFrame:
    """The sample read by openpyxl (not the importer's reader), one dict per row with parsed values."""
    return pd.read_excel(SAMPLE, engine="openpyxl", dtype=object)


def independent_date(value) -> date | None:
    """Parse the sample's four date spellings with pandas, independently of the importer."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    text = str(value).replace("年", "-").replace("月", "-").replace("日", "").replace("/", "-")
    return pd.Timestamp(text).date()


def independent_score(value) -> int | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() in {"N/A", "不适用", ""}:
        return None
    return int(value)


@functools.lru_cache(maxsize=1)
def small_sample_bytes(rows: int = 30) -> bytes:
    """The sample's header and first ``rows`` questionnaires: enough for the error cases, quick to edit."""
    workbook = openpyxl.load_workbook(io.BytesIO(sample_bytes()))
    workbook.active.delete_rows(rows + 2, 1000)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def small_edited(edit) -> bytes:
    workbook = openpyxl.load_workbook(io.BytesIO(small_sample_bytes()))
    edit(workbook.active)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
