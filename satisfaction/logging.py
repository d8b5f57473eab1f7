"""Log filter that masks mainland mobile numbers (PIPL): 13812345678 → 138****5678."""

import logging
import re

PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    return PHONE.sub(r"\1****\3", text)


class MaskPhoneFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
