"""Drop indexes that every swept event wrote for nothing.

- ``caseevent(case_id)``: the unique (case, seq) index starts with the same column.
- PostgreSQL's second index on the unique ``hash`` (``varchar_pattern_ops``, for LIKE 'prefix%'):
  nothing looks events up by a prefix of their hash (the admin's search is case-insensitive,
  served by neither index), and the sweep writes it for every event at a random place in the tree.

Only the indexes go: AlterField alone would also drop and re-add (and so re-validate, under a
table lock) the foreign key.
"""

import django.db.models.deletion
from django.db import migrations, models

CASE_INDEX = "counterfeits_caseevent_case_id_9a1c76cb"
HASH_LIKE_INDEX = "counterfeits_caseevent_hash_deabe0f5_like"


def drop_hash_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {HASH_LIKE_INDEX}")


def create_hash_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {HASH_LIKE_INDEX} "
            "ON counterfeits_caseevent (hash varchar_pattern_ops)"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("counterfeits", "0006_case_queue_priority_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="caseevent",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="counterfeits.case",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {CASE_INDEX}",
                    f"CREATE INDEX {CASE_INDEX} ON counterfeits_caseevent (case_id)",
                ),
            ],
        ),
        migrations.RunPython(drop_hash_like_index, create_hash_like_index),
    ]
