"""Phone masking for every log line (PIPL): 13812345678 → 138****5678.

Three layers, because a record can leave by several doors: a record factory masks the message as the record
is made (so every handler and pytest's caplog see it masked), a filter does the same for handlers configured
in LOGGING, and a formatter masks the final text, tracebacks included.
"""

import logging
import re

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    return PHONE.sub(r"\1****\3", text)


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return
    masked = mask_phones(message)
    if masked != message:
        record.msg, record.args = masked, None


class MaskPhoneFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


class MaskPhoneFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(super().format(record))


_installed = False


def install_record_factory() -> None:
    """Mask phones in every LogRecord as it is created, whichever logger or handler it goes to."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
