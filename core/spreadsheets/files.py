"""Reading an uploaded xlsx, xls or csv into a header and columns of raw cell values, formula cells marked.

``upload_check`` refuses what should never be parsed (too large, content not matching its extension, macros,
zip bombs). ``read_sheet`` then reads the first sheet: values through calamine (fast: ~2 s for 100k × 25 cells),
and, because calamine shows only a formula's cached value, the formula cells of an xlsx from a scan of the
sheet XML for ``<f>`` elements, and those of an xls from its BIFF ``FORMULA`` records.
"""

from __future__ import annotations

import html
import io
import re
import struct
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import PurePosixPath
from xml.etree import ElementTree

import numpy as np
from django.conf import settings

from core.spreadsheets.results import ImportResult

SUPPORTED_EXTENSIONS = (".xlsx", ".xls", ".csv")
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
# Spreadsheet XML compresses 5–30×; a zip bomb a thousandfold.
MAX_COMPRESSION_RATIO = 200
MAX_ZIP_MEMBERS = 10_000
# Wider than any questionnaire (the standard one has 33 columns): a file beyond is refused, and the error workbook
# echoes no more than this many columns (a million-column CSV once cost 48 s and 882 MB there).
SHEET_MAX_COLUMNS = 500
CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK, which Excel in China saves


class UnreadableFile(Exception):
    """The file passed the upload check but cannot be read as a sheet; the message is for the user."""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def upload_check(*, file_name: str, data: bytes) -> list[str]:
    """Reasons (in Chinese) to refuse an upload before parsing it; an empty list means it may be read."""
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlam"):
        return ["不接受含宏的工作簿（.xlsm）：请另存为不含宏的 .xlsx 后再上传"]
    if suffix not in SUPPORTED_EXTENSIONS:
        shown = suffix or "（无扩展名）"
        return [f"不支持的文件类型“{shown}”：请上传 .xlsx、.xls 或 .csv 文件"]
    if not data:
        return ["文件是空的"]
    limit = settings.IMPORT_MAX_BYTES
    if len(data) > limit:
        return [f"文件过大（{_megabytes(len(data))}），上限为 {_megabytes(limit)}：请拆分后分批上传"]
    if suffix == ".xlsx":
        return _xlsx_check(data)
    if suffix == ".xls":
        if not data.startswith(OLE2_MAGIC):
            return ["文件内容不是 Excel 97-2003 工作簿（.xls），与扩展名不符"]
        if "_VBA_PROJECT".encode("utf-16-le") in data:
            return ["不接受含宏的工作簿：请另存为不含宏的 .xlsx 后再上传"]
        return []
    return _csv_check(data)


def _xlsx_check(data: bytes) -> list[str]:
    if data.startswith(OLE2_MAGIC):
        return ["文件内容不是 .xlsx 工作簿（可能已加密，或是旧版 .xls 改了扩展名）：请另存为 .xlsx 后再上传"]
    if not data.startswith(ZIP_MAGIC):
        return ["文件内容不是 .xlsx 工作簿，与扩展名不符"]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            content_types = archive.read("[Content_Types].xml") if "[Content_Types].xml" in names else None
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
        return ["文件内容不是 .xlsx 工作簿（压缩包已损坏），与扩展名不符"]
    if content_types is None:
        return ["文件内容不是 .xlsx 工作簿（缺少 [Content_Types].xml），与扩展名不符"]
    if len(members) > MAX_ZIP_MEMBERS:
        return ["工作簿结构异常（包含的部件过多），拒绝读取"]
    unpacked = sum(member.file_size for member in members)
    packed = sum(member.compress_size for member in members)
    if unpacked > settings.IMPORT_MAX_UNPACKED_BYTES:
        return [
            f"工作簿解压后过大（{_megabytes(unpacked)}，上限 {_megabytes(settings.IMPORT_MAX_UNPACKED_BYTES)}），拒绝读取"
        ]
    if unpacked > 1024 * 1024 and unpacked > MAX_COMPRESSION_RATIO * max(packed, 1):
        return ["工作簿压缩比异常（疑似压缩炸弹），拒绝读取"]
    if (
        any(PurePosixPath(name).name.lower() == "vbaproject.bin" for name in names)
        or b"macroenabled" in content_types.lower()
    ):
        return ["不接受含宏的工作簿：请另存为不含宏的 .xlsx 后再上传"]
    return []


def _decode_csv(data: bytes) -> str | None:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _csv_check(data: bytes) -> list[str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return ["CSV 文件是 UTF-16 编码（Excel 的“Unicode 文本”）：请另存为“CSV UTF-8”或 GBK 编码的 CSV"]
    if data.startswith((ZIP_MAGIC, OLE2_MAGIC)) or b"\x00" in data[:65536]:
        return ["文件内容不是 CSV 文本（像是 Excel 工作簿），与扩展名不符：请按实际格式选择扩展名"]
    if _decode_csv(data) is None:
        return ["CSV 文件编码无法识别：请另存为 UTF-8 或 GBK（GB18030）编码"]
    return []


# --- reading ------------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """The first sheet: ``headers`` (row 1, as text), ``columns`` (one object array per header, data rows only,
    blank rows dropped), ``row_numbers`` (the spreadsheet's number of each data row) and ``formulas``
    ({(row number, column index): formula text} of cells holding a formula)."""

    headers: list[str]
    columns: list[np.ndarray]
    row_numbers: np.ndarray
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return len(self.row_numbers)


def read_checked(*, data: bytes, file_name: str) -> Sheet | ImportResult:
    """The first sheet of an upload, or why it was refused (``upload_check``, unreadable, no header row) as a
    result: the one way every importer opens its file."""
    refusals = upload_check(file_name=file_name, data=data)
    if refusals:
        return ImportResult.refusal(refusals, file_name=file_name)
    try:
        sheet = read_sheet(data=data, file_name=file_name)
    except UnreadableFile as exc:
        return ImportResult.refusal([str(exc)], file_name=file_name)
    if sheet.row_count == 0 and all(not header for header in sheet.headers):
        return ImportResult.refusal(["文件中没有内容：第 1 行应为列标题"], file_name=file_name)
    return sheet


def read_sheet(*, data: bytes, file_name: str, truncate_columns: bool = False) -> Sheet:
    """Read the first sheet of an upload that passed ``upload_check``; raises UnreadableFile.

    A sheet wider than ``SHEET_MAX_COLUMNS`` is refused, or with ``truncate_columns`` cut to that width.
    """
    suffix = PurePosixPath(file_name.replace("\\", "/")).suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(data)
        formulas: dict[tuple[int, int], str] = {}
    else:
        rows = _calamine_rows(data, suffix)
        formulas = _xlsx_formulas(data) if suffix == ".xlsx" else _xls_formulas(data)
    width = max((len(row) for row in rows), default=0)
    if width > SHEET_MAX_COLUMNS:
        if not truncate_columns:
            raise UnreadableFile(f"表格列数过多（{width} 列）：最多 {SHEET_MAX_COLUMNS} 列")
        rows = [row[:SHEET_MAX_COLUMNS] for row in rows]
    return _to_sheet(rows, formulas)


def _csv_rows(data: bytes) -> list[list]:
    import csv

    text = _decode_csv(data)
    if text is None:
        raise UnreadableFile("CSV 文件编码无法识别：请另存为 UTF-8 或 GBK（GB18030）编码")
    try:
        return list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise UnreadableFile(f"CSV 文件格式有误：{exc}") from exc


def _calamine_rows(data: bytes, suffix: str) -> list[list]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise UnreadableFile("工作簿中没有工作表")
        # Not skipping the empty area keeps row 1 of the list as row 1 of the sheet.
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises its own errors and ValueError/OSError for a broken file
        kind = ".xlsx" if suffix == ".xlsx" else ".xls"
        raise UnreadableFile(f"无法读取该 {kind} 文件（文件已损坏或已加密）：请在 Excel 中打开并另存后再上传") from exc


def _is_blank(value) -> bool:
    return (
        value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and value != value)
    )


def _to_sheet(rows: list[list], formulas: dict[tuple[int, int], str]) -> Sheet:
    if not rows:
        raise UnreadableFile("文件中没有内容：第 1 行应为列标题")
    header_row = list(rows[0])
    width = max((len(row) for row in rows), default=0)
    # Trailing columns without a header and without any value are Excel's formatting leftovers.
    while width and (width > len(header_row) or _is_blank(header_row[width - 1])):
        column_index = width - 1
        if any(column_index < len(row) and not _is_blank(row[column_index]) for row in rows[1:]):
            break
        width -= 1
    header_row = (header_row + [""] * width)[:width]
    headers = [cell_text(value) for value in header_row]
    body = rows[1:]
    padded = [row if len(row) == width else (list(row) + [""] * width)[:width] for row in body]
    if padded:
        matrix = np.empty((len(padded), width), dtype=object)
        matrix[:] = padded
    else:
        matrix = np.empty((0, width), dtype=object)
    row_numbers = np.arange(2, len(padded) + 2)
    if width and len(padded):
        keep = ~_blank_rows(matrix)
        matrix = matrix[keep]
        row_numbers = row_numbers[keep]
    return Sheet(
        headers=headers,
        columns=[matrix[:, index] for index in range(width)],
        row_numbers=row_numbers,
        formulas=formulas,
    )


def _blank_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows whose every cell is blank."""
    # Element-wise comparison runs in C; a row that has some other value (usually its first cell) gets a
    # closer look that stops at its first real value (whitespace and NaN count as blank).
    certain = ((matrix == "") | (matrix == None)).all(axis=1)  # noqa: E711 - element-wise on an object array
    blank = certain.copy()
    for row in np.flatnonzero(~certain):
        blank[row] = all(_is_blank(value) for value in matrix[row])
    return blank


def cell_text(value) -> str:
    """A cell's value as the person sees it: integral numbers without ".0", dates as 2026-03-05."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value != value:
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


# --- formula cells ------------------------------------------------------------------------------------------

_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f(?=[\s>/])")
_CELL_OPEN = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>]")
_CELL_REF = re.compile(rb'\sr="([A-Z]{1,3})([0-9]+)"')
_FORMULA_TEXT = re.compile(rb"[^>]*?(?:/>|>(.*?)</(?:[A-Za-z_][\w.-]*:)?f>)", re.S)
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def column_letters_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    index = 0
    for char in letters:
        index = index * 26 + (ord(char) - 64)
    return index - 1


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheet = next(element for element in workbook.iter() if element.tag.endswith("}sheet"))
    rel_id = sheet.get(f"{{{_REL_NS}}}id")
    rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    for rel in rels:
        if rel.get("Id") == rel_id:
            target = rel.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    raise KeyError(rel_id)


def _xlsx_formulas(data: bytes) -> dict[tuple[int, int], str]:
    """{(row number, column index): formula} of the first sheet's formula cells, from its XML."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read(_first_sheet_path(archive))
    except (KeyError, StopIteration, ElementTree.ParseError, zipfile.BadZipFile) as exc:
        raise UnreadableFile("无法读取该 .xlsx 文件（工作簿结构不完整）：请在 Excel 中打开并另存后再上传") from exc
    formulas: dict[tuple[int, int], str] = {}
    if b"<sheetData" in xml and b"<f" not in xml:
        return formulas  # unprefixed XML (what Excel writes) without a single <f…: no formula, found at memchr speed
    for match in _FORMULA_TAG.finditer(xml):
        start = match.start()
        cell_start = max(xml.rfind(b"<c ", 0, start), xml.rfind(b":c ", 0, start))
        ref = _CELL_REF.search(xml, cell_start, start) if cell_start >= 0 else None
        if ref is None:
            return _xlsx_formulas_openpyxl(data)
        text_match = _FORMULA_TEXT.match(xml, match.end())
        text = html.unescape(text_match.group(1).decode("utf-8")) if text_match and text_match.group(1) else ""
        row, col = int(ref.group(2)), column_letters_index(ref.group(1).decode())
        formulas[(row, col)] = f"={text}" if text else "=（共享公式）"
    return formulas


def _xlsx_formulas_openpyxl(data: bytes) -> dict[tuple[int, int], str]:
    # Cells without an r="A1" reference are legal but rare (not written by Excel); let openpyxl count them.
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    try:
        formulas = {}
        for row in workbook.worksheets[0].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", None) == "f":
                    formulas[(cell.row, cell.column - 1)] = str(cell.value)
        return formulas
    finally:
        workbook.close()


def _xls_formulas(data: bytes) -> dict[tuple[int, int], str]:
    """Formula cells of the first worksheet of an .xls, from its BIFF8 FORMULA records (0x0006)."""
    from xlrd import compdoc

    try:
        doc = compdoc.CompDoc(data, logfile=io.StringIO())
        stream = doc.get_named_stream("Workbook") or doc.get_named_stream("Book")
    except Exception:  # noqa: BLE001 - calamine already read it; without the stream, no formula can be found
        return {}
    if not stream:
        return {}
    # Globals substream: BOUNDSHEET (0x0085) records give each sheet's offset; the first worksheet is type 0.
    position, sheet_offset = 0, None
    while position + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, position)
        body = stream[position + 4 : position + 4 + length]
        if record == 0x0085 and len(body) >= 6 and body[5] == 0 and sheet_offset is None:
            sheet_offset = struct.unpack_from("<I", body, 0)[0]
        if record == 0x000A:  # EOF of the globals
            break
        position += 4 + length
    if sheet_offset is None:
        return {}
    formulas: dict[tuple[int, int], str] = {}
    position = sheet_offset
    while position + 4 <= len(stream):
        record, length = struct.unpack_from("<HH", stream, position)
        if record == 0x0006 and length >= 4:
            row, col = struct.unpack_from("<HH", stream, position + 4)
            formulas[(row + 1, col)] = "=（公式）"
        if record == 0x000A:
            break
        position += 4 + length
    return formulas
