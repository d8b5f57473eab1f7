"""Writing spreadsheets people open in Excel: every text cell goes through ``safe_cell``."""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\x00")


def safe_cell(value):
    """Neutralise text that a spreadsheet would read as a formula (=, +, -, @, tab, CR, NUL) with a leading quote.

    Control characters that xlsx cannot hold (NUL and the like, from a hostile or broken file) are then dropped:
    openpyxl would refuse the whole workbook otherwise.
    """
    if isinstance(value, str):
        if value.startswith(FORMULA_PREFIXES):
            value = "'" + value
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def unquote_safe_cell(text: str) -> str:
    """The text ``safe_cell`` neutralised, read back: a leading quote before a formula character is dropped, so
    that a workbook we exported imports again unchanged."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text
