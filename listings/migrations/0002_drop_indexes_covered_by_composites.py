"""Drop the single-column indexes on Listing.seller and Sale.listing.

The composite indexes (seller, status) and (listing, customer_country) start with the same
column and serve every lookup the single ones did; each index fewer is one less to maintain for
every row a catalog import writes. Only the indexes go: AlterField alone would also drop and
re-add (and so re-validate, under a table lock) the foreign keys.
"""

import django.db.models.deletion
from django.db import migrations, models

LISTING_SELLER = "listings_listing_seller_id_c51e0dea"
SALE_LISTING = "listings_sale_listing_id_10ff64da"


class Migration(migrations.Migration):
    dependencies = [
        ("listings", "0001_initial"),
        ("sellers", "0002_rings"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="listing",
                    name="seller",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="listings",
                        to="sellers.seller",
                    ),
                ),
                migrations.AlterField(
                    model_name="sale",
                    name="listing",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sales",
                        to="listings.listing",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {LISTING_SELLER}",
                    f"CREATE INDEX {LISTING_SELLER} ON listings_listing (seller_id)",
                ),
                migrations.RunSQL(
                    f"DROP INDEX IF EXISTS {SALE_LISTING}",
                    f"CREATE INDEX {SALE_LISTING} ON listings_sale (listing_id)",
                ),
            ],
        ),
    ]
