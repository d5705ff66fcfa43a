"""Drop ``referral(authority_id)`` and ``referral(case_id)``: each is the first column of a
unique or composite index that serves the same lookups, and the sweep writes every referral.

Only the indexes go: AlterField alone would also drop and re-add (and so re-validate, under a
table lock) the foreign keys.
"""

import django.db.models.deletion
from django.db import migrations, models

AUTHORITY_INDEX = "referrals_referral_authority_id_1fe1aa5c"
CASE_INDEX = "referrals_referral_case_id_b6a3f342"


class Migration(migrations.Migration):
    dependencies = [
        ("counterfeits", "0007_drop_redundant_indexes"),
        ("referrals", "0003_authority_safety_legal_basis"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="referral",
                    name="authority",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals",
                        to="referrals.authority",
                    ),
                ),
                migrations.AlterField(
                    model_name="referral",
                    name="case",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="referrals",
                        to="counterfeits.case",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {AUTHORITY_INDEX}",
                    f"CREATE INDEX {AUTHORITY_INDEX} ON referrals_referral (authority_id)",
                ),
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {CASE_INDEX}",
                    f"CREATE INDEX {CASE_INDEX} ON referrals_referral (case_id)",
                ),
            ],
        ),
    ]
