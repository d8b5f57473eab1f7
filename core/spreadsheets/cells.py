"""Checking and converting a column of cells at a time.

A column of 100,000 cells holds a few dozen distinct values (scores, dates, channels), so each column is
factorised, each distinct value parsed once in Python, and the results spread back with numpy: the rules stay
plain Python functions, the cost stays that of a few vector operations.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from django.utils import translation

from core.spreadsheets.files import Sheet, cell_text
from core.spreadsheets.results import ImportIssue
from core.spreadsheets.writing import unquote_safe_cell


class CellError(ValueError):
    """A cell's value breaks the contract; the message is the Chinese reason."""


NOT_ANSWERED_TEXT = {"", "n/a", "不适用"}
SCORE_TEXT = re.compile(r"^([1-5])(?:\.0+)?$")
DATE_TEXT = re.compile(
    r"^(?:(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2})"
    r"|(?P<y2>\d{4})/(?P<m2>\d{1,2})/(?P<d2>\d{1,2})"
    r"|(?P<y3>\d{4})\s*年\s*(?P<m3>\d{1,2})\s*月\s*(?P<d3>\d{1,2})\s*日)"
    # A CSV saved from a sheet of datetimes carries a midnight time; the date is what counts.
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
SCORE_REASON = "评分必须是 1–5 的整数；留空、N/A 或“不适用”表示未作答"
FORMULA_REASON = "单元格是公式：请复制该列后“选择性粘贴为数值”，再导入"
REQUIRED_REASON = "必填项为空"
DATE_REASON = "日期无法识别：请写成 2026-03-05、2026/3/5 或 2026年3月5日，或使用 Excel 日期单元格"


def parse_score(value) -> int | None:
    if isinstance(value, bool):
        raise CellError(SCORE_REASON)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:  # NaN from a reader = blank
            return None
        if float(value).is_integer() and 1 <= value <= 5:
            return int(value)
        raise CellError(SCORE_REASON)
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in NOT_ANSWERED_TEXT:
            return None
        match = SCORE_TEXT.match(text)
        if match:
            return int(match.group(1))
        raise CellError(SCORE_REASON)
    if value is None:
        return None
    raise CellError(SCORE_REASON)


def parse_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        match = DATE_TEXT.match(text)
        if match:
            parts = match.groupdict()
            for suffix in "123":
                if parts[f"y{suffix}"]:
                    year, month, day = (int(parts[f"{key}{suffix}"]) for key in "ymd")
                    break
            try:
                parsed = date(year, month, day)
            except ValueError:
                raise CellError(f"日期不存在：{text}") from None
            if not 1900 <= parsed.year <= 2100:
                raise CellError(DATE_REASON)
            return parsed
        raise CellError(DATE_REASON)
    if isinstance(value, float) and value != value:
        return None
    # A bare number is a serial day count only if Excel formatted it as a date, which the reader would have seen.
    raise CellError(DATE_REASON)


def choice_parser(choices: Mapping[str, str], reason: str) -> Callable[[object], str]:
    """A cell naming one of ``choices`` (text → code; matched as written, then in lower case); blank = ''."""

    def parse(value) -> str:
        text = cell_text(value)
        if not text:
            return ""
        code = choices.get(text) or choices.get(text.lower())
        if code is None:
            raise CellError(reason)
        return code

    return parse


def labelled_choice_parser(
    choices, reason: str, *, extra: Mapping[str, str] | None = None
) -> Callable[[object], str]:
    """A cell holding a code or its Chinese label (Django ``choices``) → the code; ``extra`` maps further words.

    Labels are read untranslated: a file says 电话 whatever language the page that started the import was in.
    """
    with translation.override(None):
        by_text = {**{str(code): str(code) for code, _ in choices}, **{str(label): str(code) for code, label in choices}}
    return choice_parser({**by_text, **(extra or {})}, reason)


def text_parser(max_length: int) -> Callable[[object], str]:
    def parse(value) -> str:
        text = unquote_safe_cell(cell_text(value))
        if len(text) > max_length:
            raise CellError(f"内容过长：最多 {max_length} 个字符")
        return text

    return parse


def phone_parser(max_length: int) -> Callable[[object], str]:
    def parse(value) -> str:
        text = cell_text(value)
        if len(text) > max_length:
            raise CellError(f"电话号码过长：最多 {max_length} 个字符")
        if text and not re.fullmatch(r"[0-9+\-() ]+", text):
            raise CellError("电话号码只能包含数字、空格、+、-、括号")
        return text

    return parse


@dataclass(frozen=True)
class ColumnSpec:
    """A column of the import file: its key and Chinese label, how to parse a cell, whether required.

    ``required``: the column must be present and every cell filled. ``column_required``: the column must be
    present, its cells may be blank (the headline questions: blank = not answered).
    """

    key: str
    label: str
    parse: Callable[[object], object]
    required: bool = False
    column_required: bool = False
    # Scores, dates, channels repeat a few values: parse each distinct value once. Names and numbers are
    # mostly distinct, where finding the distinct values first would only add work.
    few_distinct: bool = True

    @property
    def needs_column(self) -> bool:
        return self.required or self.column_required


@dataclass
class ParsedColumn:
    spec: ColumnSpec
    header: str  # as written in the file
    index: int  # column index in the file
    values: np.ndarray  # parsed values, object array (None / "" for blank)
    bad: np.ndarray  # bool mask of cells with an error
    codes: np.ndarray | None = None  # values == uniques[codes] (None once bad cells were blanked)
    uniques: np.ndarray | None = None


class IssueList:
    """Every problem found, kept in the file's order (row, then column) when read back."""

    def __init__(self) -> None:
        self._items: list[tuple[int, int, ImportIssue]] = []

    def add(self, *, row: int, column: str, value: str, reason: str, column_index: int = -1) -> None:
        self._items.append((row, column_index, ImportIssue(row=row, column=column, value=value, reason=reason)))

    def extend(self, items) -> None:
        self._items.extend(items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def sorted(self) -> list[ImportIssue]:
        return [issue for _, _, issue in sorted(self._items, key=lambda item: (item[0], item[1]))]


def header_key(header: str) -> str:
    """Headers match whatever the width of their brackets and letters (房屋质量(渗漏/裂缝) = 房屋质量（渗漏/裂缝）),
    their case and the spaces around them."""
    return unicodedata.normalize("NFKC", header).strip().lower()


def map_headers(sheet: Sheet, specs: list[ColumnSpec], issues: IssueList) -> dict[str, tuple[int, str]]:
    """{key: (column index, header as written)}; unknown, blank-headed and repeated columns are errors,
    and so is a missing required column."""
    by_name: dict[str, ColumnSpec] = {}
    for spec in specs:
        by_name[header_key(spec.key)] = spec
        by_name[header_key(spec.label)] = spec
    found: dict[str, tuple[int, str]] = {}
    for index, header in enumerate(sheet.headers):
        spec = by_name.get(header_key(header))
        if not header:
            issues.add(
                row=1,
                column=f"第 {index + 1} 列",
                value="",
                reason="列标题为空：请填写列标题或删除该列",
                column_index=index,
            )
        elif spec is None:
            issues.add(
                row=1,
                column=header,
                value=header,
                reason="未知的列：请使用模板中的列标题（中文标题或英文键）",
                column_index=index,
            )
        elif spec.key in found:
            issues.add(
                row=1,
                column=header,
                value=header,
                reason=f"列重复：与“{found[spec.key][1]}”是同一列",
                column_index=index,
            )
        else:
            found[spec.key] = (index, header)
    for spec in specs:
        if spec.needs_column and spec.key not in found:
            issues.add(
                row=1, column=spec.label, value="", reason=f"缺少必填列“{spec.label}”（{spec.key}）", column_index=10**6
            )
    return found


def parse_columns(sheet: Sheet, specs: list[ColumnSpec], issues: IssueList) -> dict[str, ParsedColumn]:
    """Map the headers and parse every column found: {key: parsed column}; each problem goes to ``issues``."""
    found = map_headers(sheet, specs, issues)
    by_key = {spec.key: spec for spec in specs}
    return {key: parse_column(sheet, by_key[key], index, header, issues) for key, (index, header) in found.items()}


def parse_column(sheet: Sheet, spec: ColumnSpec, index: int, header: str, issues: IssueList) -> ParsedColumn:
    """Parse one column; record an issue for each bad, formula or (if required) blank cell."""
    raw = sheet.columns[index]
    if spec.few_distinct:
        codes, uniques = pd.factorize(raw, use_na_sentinel=False)
    else:
        codes, uniques = np.arange(len(raw)), raw
    parsed_uniques = np.empty(len(uniques), dtype=object)
    reasons: list[str | None] = []
    for position, value in enumerate(uniques):
        try:
            parsed_uniques[position] = spec.parse(value)
            reasons.append(None)
        except CellError as exc:
            parsed_uniques[position] = None
            reasons.append(str(exc))
    reason_array = np.array(reasons, dtype=object)
    has_reason = np.fromiter((reason is not None for reason in reasons), dtype=bool, count=len(reasons))
    values = parsed_uniques[codes] if len(codes) else np.empty(0, dtype=object)
    bad = has_reason[codes] if len(codes) else np.zeros(0, dtype=bool)
    cell_reasons = reason_array[codes] if len(codes) else np.empty(0, dtype=object)
    if spec.required and len(codes):
        blank_unique = np.fromiter(
            (reason is None and _parsed_blank(value) for value, reason in zip(parsed_uniques, reasons, strict=True)),
            dtype=bool,
            count=len(reasons),
        )
        blank = blank_unique[codes]
        cell_reasons = cell_reasons.copy()
        cell_reasons[blank] = REQUIRED_REASON
        bad = bad | blank
    # Formula cells are errors whatever their cached value.
    formula_rows = [row for (row, col) in sheet.formulas if col == index]
    if formula_rows:
        position_of_row = {int(row): pos for pos, row in enumerate(sheet.row_numbers)}
        bad = bad.copy()
        cell_reasons = cell_reasons.copy()
        for row in formula_rows:
            pos = position_of_row.get(row)
            if pos is not None:
                bad[pos] = True
                cell_reasons[pos] = FORMULA_REASON
    if not bad.any():
        return ParsedColumn(
            spec=spec, header=header, index=index, values=values, bad=bad, codes=codes, uniques=parsed_uniques
        )
    if bad.any():
        positions = np.flatnonzero(bad)
        rows = sheet.row_numbers[positions]
        issues.extend(
            (
                int(row),
                index,
                ImportIssue(
                    row=int(row),
                    column=header,
                    value=sheet.formulas.get((int(row), index)) or cell_text(raw[pos]),
                    reason=cell_reasons[pos],
                ),
            )
            for pos, row in zip(positions, rows, strict=True)
        )
        values = values.copy()
        values[bad] = None
    return ParsedColumn(spec=spec, header=header, index=index, values=values, bad=bad)


def _parsed_blank(value) -> bool:
    return value is None or value == ""


def first_occurrence_rows(keys: pd.Series, row_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For keys repeated in the file: (positions of the repeats, row number of each key's first occurrence)."""
    duplicated = keys.duplicated(keep="first").to_numpy()
    if not duplicated.any():
        return np.empty(0, dtype=int), np.empty(0, dtype=int)
    first_position = (
        pd.Series(np.arange(len(keys)), index=keys.index).groupby(keys.to_numpy(), sort=False).transform("min")
    )
    positions = np.flatnonzero(duplicated)
    return positions, row_numbers[first_position.to_numpy()[positions]]
