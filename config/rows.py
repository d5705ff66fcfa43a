"""Hand-written statements on a request's hot path: planned once per connection, and model
instances from their rows.

The ORM's compile of a multi-table ``select_related`` or an annotated ``get`` costs far more
than the round trip on a request's hot path (the bearer-token lookup, the report intake), so
those statements are written out once per process and their rows are turned into instances
here, as ``Model.from_db`` does for the ORM: the same values and the same converters. On
PostgreSQL, planning such a statement (joins, subqueries) costs the server several times what
running it does; :func:`execute_prepared` plans it once per connection.
"""

import hashlib
from collections.abc import Sequence

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model


def execute_prepared(
    cursor: CursorWrapper, sql: str, params: Sequence, *, before: str = ""
) -> None:
    """``cursor.execute(before + sql, params)``, with ``sql`` a PostgreSQL prepared statement.

    The first use on a connection sends ``PREPARE`` (the statement is then planned once, not on
    every request); every use sends ``EXECUTE`` with the values. ``sql`` takes ``%s``
    placeholders as usual (and no literal ``%``); where PostgreSQL cannot tell a placeholder's
    type from its place, the statement casts it. ``before`` (e.g. a ``SET LOCAL``) goes in the
    same round trip. A prepared statement outlives a rolled-back transaction and ends with its
    connection; its name is the digest of its text, so one name never means two statements. One
    the server dropped, or whose result's row type a migration changed, is prepared afresh: at
    once outside a transaction; inside one (which the failure has aborted) on the next use.
    Elsewhere, or with ``DB_PREPARED_STATEMENTS`` off (a pooler that does not keep them), the
    statement is sent as it is.
    """
    if cursor.db.vendor != "postgresql" or not settings.DB_PREPARED_STATEMENTS:
        cursor.execute(before + sql, params)
        return
    if "%%" in sql:
        # PREPARE is sent without parameters, so nothing would turn %% into %.
        raise ValueError("execute_prepared() takes statements without a literal %")
    name = "touchstone_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
    raw = cursor.db.connection
    state = getattr(cursor.db, "_touchstone_prepared", None)
    if state is None or state[0] is not raw:  # a new connection has nothing prepared
        state = cursor.db._touchstone_prepared = (raw, set(), set())
    _, prepared, stale = state
    if name not in prepared:
        _prepare(cursor, name, sql, stale)
        prepared.add(name)
    arguments = f"({', '.join(['%s'] * len(params))})" if params else ""
    try:
        cursor.execute(f"{before}EXECUTE {name}{arguments}", params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _STALE:
            raise
        # Dropped on the server (DEALLOCATE ALL, DISCARD ALL) or its plan's row type changed
        # (a migration): prepare it afresh. Inside a transaction the failed EXECUTE has aborted
        # it, so the error stands and the next use prepares it; outside, try once more now.
        prepared.discard(name)
        stale.add(name)
        if cursor.db.in_atomic_block:
            raise
        _prepare(cursor, name, sql, stale)
        prepared.add(name)
        cursor.execute(f"{before}EXECUTE {name}{arguments}", params)


# SQLSTATEs of an EXECUTE whose statement is gone (invalid_sql_statement_name) or whose plan no
# longer fits its tables (feature_not_supported: "cached plan must not change result type").
_STALE = {"26000", "0A000"}


def _prepare(cursor: CursorWrapper, name: str, sql: str, stale: set[str]) -> None:
    """``PREPARE name``; one that failed before (``stale``) may still be on the server, where
    it is dropped first."""
    parts = sql.split("%s")
    numbered = "".join(f"{part}${n}" for n, part in enumerate(parts[:-1], 1)) + parts[-1]
    if name in stale:
        cursor.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [name])
        if cursor.fetchone():
            cursor.execute(f"DEALLOCATE {name}")
    cursor.execute(f"PREPARE {name} AS {numbered}")
    stale.discard(name)


# A model, its field names in column order, and per column what the ORM does with a value read
# from the database (e.g. SQLite's text datetimes, a JSON column's text).
Reader = tuple[type[Model], list[str], list[tuple]]


def columns_of(model: type[Model], alias: str) -> list[str]:
    """The model's concrete columns, qualified by ``alias``, in the order ``reader`` reads."""
    quote = connection.ops.quote_name
    return [f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields]


def reader(model: type[Model]) -> Reader:
    """How to read ``columns_of(model, ...)`` back into an instance (make it once, keep it)."""
    fields = model._meta.concrete_fields
    columns = [field.get_col(model._meta.db_table) for field in fields]
    return (
        model,
        [field.attname for field in fields],
        [
            (col, connection.ops.get_db_converters(col) + col.get_db_converters(connection))
            for col in columns
        ],
    )


def instance(model_reader: Reader, values: tuple | list) -> Model:
    """The instance of ``values`` (one model's slice of a row), as the ORM would make it."""
    model, names, converters = model_reader
    if any(chain for _, chain in converters):
        values = tuple(
            _convert(value, col, chain)
            for value, (col, chain) in zip(values, converters, strict=True)
        )
    return model.from_db(connection.alias, names, values)


def split_row(readers: list[Reader], row: tuple) -> tuple[list[tuple], tuple]:
    """``row`` cut into one slice per reader, in order, and what follows the last of them."""
    parts, start = [], 0
    for model_reader in readers:
        size = len(model_reader[1])
        parts.append(row[start : start + size])
        start += size
    return parts, row[start:]


def _convert(value: object, col: object, chain: list) -> object:
    for convert in chain:
        value = convert(value, col, connection)
    return value
