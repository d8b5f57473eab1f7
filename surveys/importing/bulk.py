"""Bulk inserts and updates that write one history row per changed row, inside the caller's transaction.

On PostgreSQL rows go in through COPY (ids taken from the table's sequence first, so the history rows can
carry them); 100,000 responses and their history take about a second. Elsewhere (SQLite: the embedded default
and the unit tests) django-simple-history's own ``bulk_create_with_history`` / ``bulk_update_with_history`` do
the same work more slowly. Either way the history rows hold the full row, the importing user and a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from itertools import repeat
from operator import itemgetter

from django.db import connection
from django.db.models import Model
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

# Rows per COPY batch: small enough to report progress and overlap with the server's work, large enough
# that the per-batch overhead does not count.
BATCH = 10_000


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _fields(model: type[Model]):
    return [field for field in model._meta.concrete_fields]


def insert_with_history(
    model: type[Model],
    rows: list[dict],
    *,
    user_id: int | None,
    at: datetime,
    reason: str,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Insert ``rows`` ({attname: value}, no id) and their "+" history rows; returns the new ids in order."""
    if not rows:
        return []
    if not _is_postgres():
        objs = [model(**row) for row in rows]
        created = bulk_create_with_history(
            objs, model, batch_size=500, default_user=_user(user_id), default_change_reason=reason, default_date=at
        )
        # auto_now(_add) fields were set by bulk_create; history copies them.
        return [obj.pk for obj in created]
    ids = _next_ids(model, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    # Each column is turned into text once: the history rows repeat the row's columns.
    texts: dict[str, list[str]] = {}
    _copy_rows(model, rows, texts=texts, progress=progress)
    _copy_history(model, rows, texts=texts, history_type="+", user_id=user_id, at=at, reason=reason)
    return ids


def update_with_history(
    model: type[Model],
    rows: list[dict],
    *,
    fields: Sequence[str],
    user_id: int | None,
    at: datetime,
    reason: str,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Update ``fields`` of the rows ({attname: value} of the FULL row, with id) and write "~" history rows."""
    if not rows:
        return
    complete_rows(model, rows)
    if not _is_postgres():
        objs = [model(**row) for row in rows]
        bulk_update_with_history(
            objs,
            model,
            list(fields),
            batch_size=500,
            default_user=_user(user_id),
            default_change_reason=reason,
            default_date=at,
        )
        return
    table = model._meta.db_table
    temp = f"tmp_import_{table}"
    columns = ["id", *(model._meta.get_field(name).column for name in fields)]
    attnames = ["id", *(model._meta.get_field(name).attname for name in fields)]
    qn = connection.ops.quote_name
    texts: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(temp)}")
        cursor.execute(
            f"CREATE TEMP TABLE {qn(temp)} ON COMMIT DROP AS SELECT {', '.join(qn(c) for c in columns)} "
            f"FROM {qn(table)} WITH NO DATA"
        )
        _copy(
            cursor,
            temp,
            columns,
            [_column_text(rows, name, texts) for name in attnames],
            len(rows),
            progress=progress,
        )
        assignments = ", ".join(f"{qn(c)} = t.{qn(c)}" for c in columns[1:])
        cursor.execute(f"UPDATE {qn(table)} AS m SET {assignments} FROM {qn(temp)} AS t WHERE m.id = t.id")
        cursor.execute(f"DROP TABLE {qn(temp)}")
    _copy_history(model, rows, texts=texts, history_type="~", user_id=user_id, at=at, reason=reason)


def complete_rows(model: type[Model], rows: list[dict]) -> None:
    """Fill in, from the database, the fields the rows lack (by id): reading timestamps for every stored row
    costs seconds at 100k rows, so the planners read only what they compare and complete the rows they write."""
    if not rows:
        return
    missing = [f.attname for f in _fields(model) if f.attname not in rows[0]]
    if not missing:
        return
    by_id = {row["id"]: row for row in rows}
    ids = list(by_id)
    for start in range(0, len(ids), 10_000):
        for values in (
            model._default_manager.filter(id__in=ids[start : start + 10_000]).order_by().values_list("id", *missing)
        ):
            row = by_id[values[0]]
            for name, value in zip(missing, values[1:], strict=True):
                row.setdefault(name, value)


def _user(user_id: int | None):
    if user_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model()(pk=user_id)


# COPY in PostgreSQL's text format, built a column at a time: a column of 100k values turns into text with a
# few C-level passes (a moment or a date repeated on every row is formatted once), then rows are tab-joined.
NULL = "\\N"
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _to_text(value) -> str:
    if value is None:
        return NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def _text_column(values: list) -> list[str]:
    kinds = set(map(type, values))
    if kinds == {str}:
        joined = "".join(values)
        if not any(char in joined for char in "\\\t\n\r"):
            return values
        return [value.translate(_ESCAPES) for value in values]
    if kinds == {int}:
        return list(map(str, values))
    distinct = set(values)
    if len(distinct) * 4 < len(values):
        table = {value: _to_text(value) for value in distinct}
        return list(map(table.__getitem__, values))
    return list(map(_to_text, values))


def _copy(cursor, table: str, columns: list[str], texts: list, count: int, *, progress=None) -> None:
    """One COPY per table, fed in batches (PostgreSQL stores a batch while Python joins the next); ``texts``
    holds per column a list of text values or one text for every row."""
    qn = connection.ops.quote_name
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        for start in range(0, count, BATCH):
            stop = min(start + BATCH, count)
            parts = [text[start:stop] if isinstance(text, list) else repeat(text, stop - start) for text in texts]
            copy.write(("\n".join(map("\t".join, zip(*parts))) + "\n").encode("utf-8"))
            if progress:
                progress(stop)


def _next_ids(model: type[Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        # The sequence's name once, then nextval per row (pg_get_serial_sequence per row is a catalog lookup each).
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [connection.ops.quote_name(table)])
        sequence = cursor.fetchone()[0]
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in cursor.fetchall()]


def _column_text(rows: list[dict], attname: str, texts: dict[str, list[str]] | None) -> list[str]:
    """The column as COPY text, remembered in ``texts`` (by attname) when given."""
    if texts is not None and attname in texts:
        return texts[attname]
    text = _text_column(list(map(itemgetter(attname), rows)))
    if texts is not None:
        texts[attname] = text
    return text


def _copy_rows(model: type[Model], rows: list[dict], *, texts: dict | None = None, progress=None) -> None:
    fields = _fields(model)
    with connection.cursor() as cursor:
        _copy(
            cursor,
            model._meta.db_table,
            [field.column for field in fields],
            [_column_text(rows, field.attname, texts) for field in fields],
            len(rows),
            progress=progress,
        )


def _copy_history(
    model: type[Model], rows: list[dict], *, texts: dict | None = None, history_type: str, user_id, at, reason: str
) -> None:
    history = model.history.model
    fields = [field for field in _fields(history) if field.attname != "history_id"]
    extra = {
        "history_date": at,
        "history_change_reason": reason,
        "history_type": history_type,
        "history_user_id": user_id,
    }
    attnames = [field.attname for field in fields]
    missing = [name for name in attnames if name not in extra and name not in rows[0]]
    if missing:
        raise ValueError(f"history of {model.__name__} needs {missing}")
    with connection.cursor() as cursor:
        _copy(
            cursor,
            history._meta.db_table,
            [field.column for field in fields],
            [_to_text(extra[name]) if name in extra else _column_text(rows, name, texts) for name in attnames],
            len(rows),
        )
