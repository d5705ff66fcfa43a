"""Model instances from the rows of a hand-written statement that reads several tables at once.

The ORM's compile of a multi-table ``select_related`` or an annotated ``get`` costs far more
than the round trip on a request's hot path (the bearer-token lookup, the report intake), so
those statements are written out once per process and their rows are turned into instances
here, as ``Model.from_db`` does for the ORM: the same values and the same converters.
"""

from django.db import connection
from django.db.models import Model

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
