"""Updating and inserting many rows, each with its own values, in one statement that costs little
Python per row; and ``__in`` lookups over many ids sent as one parameter.

Django's ``bulk_update`` writes ``SET f = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END`` and
builds and resolves an expression object per row and field: at a few thousand rows that is most
of a batch's time (63% of ``sweep_deadlines`` in py-spy, docs/performance.md). On PostgreSQL
the values travel as one array per column instead: ``UPDATE … FROM unnest(…) WHERE id = …``.

Also :func:`without_flush_wait`, for a write whose loss in a database crash costs nothing.
"""

import io
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    AutoField,
    CharField,
    DateTimeField,
    Field,
    IntegerField,
    Model,
    TextField,
)
from django.db.models.expressions import RawSQL

# Rows per statement: arrays this long are still cheap to send and to plan.
CHUNK = 5000


def without_flush_wait(sql: str) -> str:
    """``sql`` (PostgreSQL) made to commit without waiting for the WAL flush, in the same round
    trip: sent outside a transaction, PostgreSQL runs ``SET LOCAL …; sql`` as one implicit
    transaction and the setting ends with it. Inside a transaction the setting would hold for
    the caller's other writes too, whose durability is not ours to change: ``sql`` as it is.
    """
    if connection.in_atomic_block:
        return sql
    return "SET LOCAL synchronous_commit TO OFF; " + sql


def insert_values(obj: Model, fields: Sequence[Field]) -> list:
    """The parameters an ``INSERT`` of the unsaved ``obj`` sends for ``fields``, prepared as the
    ORM's insert prepares them (``auto_now``/``auto_now_add`` stamped on ``obj`` too), for a
    statement written out by hand."""
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


def bulk_update_rows(objects: Sequence[Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of each object to its row (by primary key), like ``bulk_update``."""
    if not objects:
        return
    model = type(objects[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, fields, batch_size=CHUNK)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    pk = meta.pk
    columns = [meta.get_field(name) for name in fields]
    casts = [f"%s::{pk.db_type(connection)}[]"]
    casts += [f"%s::{field.db_type(connection)}[]" for field in columns]
    names = ", ".join(["pk", *(f"c{n}" for n in range(len(columns)))])
    assignments = ", ".join(f"{quote(field.column)} = v.c{n}" for n, field in enumerate(columns))
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - model names only
        f"FROM unnest({', '.join(casts)}) AS v({names}) WHERE t.{quote(pk.column)} = v.pk"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(objects), CHUNK):
            part = objects[start : start + CHUNK]
            params = [[pk.get_db_prep_value(obj.pk, connection) for obj in part]]
            for field in columns:
                params.append(
                    [
                        field.get_db_prep_save(getattr(obj, field.attname), connection)
                        for obj in part
                    ]
                )
            cursor.execute(sql, params)


def insert_rows(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert ``rows`` (tuples of ``fields``' values, in that order), in one ``COPY`` on
    PostgreSQL.

    The values must be what the database takes (ints, strings, bools, aware datetimes,
    ``None``): no model instance is made and no field prepares them, which is the point. On
    PostgreSQL they travel as ``COPY … FROM STDIN`` text: psycopg2 takes ~5 µs to adapt each
    value of an ``INSERT``'s parameters, more than the server takes to store it. Fields left out
    get their column default or NULL, not the model's Python default. Elsewhere it falls back to
    ``bulk_create``.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        attnames = [field.attname for field in columns]
        model.objects.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=CHUNK
        )
        return
    quote = connection.ops.quote_name
    sql = (
        f"COPY {quote(meta.db_table)} ({', '.join(quote(field.column) for field in columns)}) "
        "FROM STDIN"
    )
    as_text = [_copy_converter(field) for field in columns]
    lines = []
    for row in rows:
        lines.append("\t".join([text(value) for text, value in zip(as_text, row, strict=True)]))
    lines.append("")
    with connection.cursor() as cursor:
        cursor.copy_expert(sql, io.StringIO("\n".join(lines)))


# COPY's text format: a backslash starts an escape; tab, newline and carriage return end fields
# and rows (PostgreSQL docs, "COPY", File Formats).
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_converter(field: Field) -> Callable[[Any], str]:
    """How a column's values are written as COPY text: by the field's type, without asking
    each value its type (the sweep writes ~60,000 values a second)."""
    if isinstance(field, CharField | TextField):
        return _copy_str
    if isinstance(field, DateTimeField):
        return _copy_datetime_memo()
    target = field.target_field if field.is_relation else field
    if isinstance(target, IntegerField | AutoField):
        return _copy_int
    return _copy_text


def _copy_str(value: str | None) -> str:
    if value is None:
        return "\\N"
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _copy_int(value: int | None) -> str:
    return "\\N" if value is None else str(int(value))


def _copy_datetime_memo() -> Callable[[datetime | None], str]:
    """A datetime column's converter, remembering the times it wrote: a batch's rows mostly
    share one."""
    seen: dict[datetime, str] = {}

    def convert(value: datetime | None) -> str:
        if value is None:
            return "\\N"
        text = seen.get(value)
        if text is None:
            text = seen[value] = _copy_text(value)
        return text

    return convert


def _copy_text(value: object) -> str:
    """One value as a field of COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _copy_str(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in a row to insert: give an aware one")
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise TypeError(f"no COPY text for {type(value).__name__}")


def allocate_ids(model: type[Model], count: int) -> list[int] | None:
    """Take ``count`` primary keys from the table's sequence before inserting (PostgreSQL), so
    rows that name their own id (a referral's packet does) are written once, complete.

    ``None`` elsewhere: the caller inserts first and reads the ids back.
    """
    if connection.vendor != "postgresql":
        return None
    if count == 0:
        return []
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def in_ids(ids: Iterable[int]) -> list[int] | RawSQL:
    """The right-hand side of an ``__in`` lookup over many integer ids.

    On PostgreSQL one array parameter (``IN (SELECT unnest(%s::bigint[]))``, which plans as a
    join on the index): for a list Django prepares each id and psycopg2 adapts each one, ~8 µs
    an id, which a sweep batch pays in every query it makes. Elsewhere the list itself.
    """
    ids = list(ids)
    if connection.vendor != "postgresql":
        return ids
    return RawSQL("SELECT unnest(%s::bigint[])", ["{" + ",".join(map(str, map(int, ids))) + "}"])
