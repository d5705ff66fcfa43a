"""Updating many rows, each with its own values, in one statement that costs no Python per row.

Django's ``bulk_update`` writes ``SET f = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END`` and
builds and resolves an expression object per row and field: at a few thousand rows that is most
of a batch's time (63% of ``sweep_deadlines`` in py-spy, docs/performance.md). On PostgreSQL
the values travel as one array per column instead: ``UPDATE … FROM unnest(…) WHERE id = …``.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

# Rows per statement: arrays this long are still cheap to send and to plan.
CHUNK = 5000


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
