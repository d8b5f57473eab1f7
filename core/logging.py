"""Phone masking and secret scrubbing for every log line: 13812345678 → 138****5678 (PIPL), and the token of a
password-reset link → [redacted] (a live link in a log is a way into the account).

Three layers, because a record can leave by several doors: a record factory masks the message as the record
is made (so every handler and pytest's caplog see it masked), a filter does the same for handlers configured
in LOGGING, and a formatter masks the final text, tracebacks included.
"""

import logging
import re

# A mainland mobile number as people write it: 13812345678, 138-1234-5678, 138 1234 5678, with +86 / 86 / 0086
# in front, in ASCII or full-width digits and separators. The middle four digits are masked, the rest kept as written.
_D = "[0-9０-９]"
_SEP = "[ \u3000\\-－‐]?"
PHONE = re.compile(
    rf"(?<![0-9０-９])((?:(?:\+|＋|00)?[8８][6６]{_SEP})?[1１][3-9３-９]{_D}{_SEP})({_D}{{4}})({_SEP}{_D}{{4}})(?![0-9０-９])"
)


# /accounts/reset/<uidb64>/<token>/: the token part; "set-password" (where Django moves it into the session) is no secret.
RESET_LINK = re.compile(r"(/reset/[0-9A-Za-z_\-]+/)(?!set-password/)[0-9A-Za-z]+-[0-9A-Za-z]+")


def mask_phones(text: str) -> str:
    return PHONE.sub(r"\1****\3", text)


def scrub(text: str) -> str:
    """Everything a log line must not carry: phone numbers masked, reset-link tokens removed."""
    return RESET_LINK.sub(r"\1[redacted]", mask_phones(text))


def _mask_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return
    masked = scrub(message)
    if masked != message:
        record.msg, record.args = masked, None


class MaskPhoneFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True


class MaskPhoneFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


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
