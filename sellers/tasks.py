"""Seller tasks: thin, take ids, idempotent under redelivery."""

from celery import shared_task
from django.db import connection, transaction

from outbox.tasks import completes_outbox

from .identity import refresh_identifiers

# One ring refresh at a time: two walking overlapping groups at once could each write a grouping
# computed from the other's stale view.
REFRESH_LOCK = 0x5E11E5


@shared_task(acks_late=True)
@completes_outbox
def refresh_identifiers_task(seller_ids: list[int]) -> int:
    """Recompute these sellers' identifiers and ring groups (owed by the catalog import)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        refresh_identifiers(seller_ids)
    return len(seller_ids)
