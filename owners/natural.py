"""Units in natural order: 1-1-804 before 1-1-3201 (each run of digits compared as a number), on every database.

PostgreSQL orders by an ICU collation with numeric ordering (``und-u-kn-true``, created by a migration); SQLite by
a collation of the same name that Django's connection registers when it opens (``OwnersConfig.ready``).
"""

import re

from django.db.models.functions import Collate

COLLATION = "csm_natural"
_RUNS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """``"3-2-1502"`` → ``(("", 3), ("-", 2), ("-", 1502))``-like tokens that sort numbers by value."""
    parts = _RUNS.split(text or "")
    return tuple((0, int(part), "") if index % 2 else (1, 0, part.casefold()) for index, part in enumerate(parts) if part)


def _compare(left: str, right: str) -> int:
    a, b = natural_key(left), natural_key(right)
    if a != b:
        return -1 if a < b else 1
    return (left > right) - (left < right)


def register_sqlite_collation(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_collation(COLLATION, _compare)


def natural(field: str) -> Collate:
    """An ``order_by`` expression sorting ``field`` naturally."""
    return Collate(field, COLLATION)
