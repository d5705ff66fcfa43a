"""Drop ``case(seller_id)``, ``case(brand_id)`` and ``case(assignee_id)``.

The (seller, state), (brand, state) and (assignee, state) indexes start with the same column and
serve every lookup the single ones did; a case's state change is not a HOT update (``state`` is
indexed), so each index fewer is one less entry written for every transition the sweep makes.

Only the indexes go: AlterField alone would also drop and re-add (and so re-validate, under a
table lock) the foreign keys.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

INDEXES = {
    "counterfeits_case_assignee_id_4846157b": "assignee_id",
    "counterfeits_case_brand_id_663b959d": "brand_id",
    "counterfeits_case_seller_id_bed61ea1": "seller_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("counterfeits", "0007_drop_redundant_indexes"),
        ("sellers", "0002_rings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="assignee",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="assigned_cases",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="brand",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="counterfeits.brand",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="seller",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="sellers.seller",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {name}",
                    f"CREATE INDEX {name} ON counterfeits_case ({column})",
                )
                for name, column in INDEXES.items()
            ],
        ),
    ]
