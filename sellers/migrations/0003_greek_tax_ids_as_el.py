"""Tax-id identifiers stored before Greek ``GR…`` VAT ids became ``EL…`` are rewritten.

Written out here, frozen: a migration must not import app code that may change. The current
``normalize_tax_id`` turns a Greek VAT id typed with ``GR`` (``GR123456789``, ``GRGR…``, for a
seller of any country or none) into ``EL123456789``; the release before stored it as
``<COUNTRY>:GR123456789`` (``GR:GR…`` for a Greek seller) or, with no country, ``GR123456789``.
Only ``GR`` followed by digits changed; anything else after ``GR`` normalises as before.

The rewritten sellers, and the sellers already holding the ``EL…`` value, are then owed a ring
refresh through the outbox (the rows ``sellers.identity.enqueue_refresh`` writes; the relay beat
publishes them once the worker runs): it regroups them and raises repeat-offender alerts.
"""

import re

from django.db import migrations

TAX_ID = "tax_id"
REFRESH_TASK = "sellers.tasks.refresh_identifiers_task"
BATCH = 2000
# The pre-release form of a Greek VAT id typed with GR: optional "<country>:" then GR and digits.
OLD_GREEK = r"^([A-Z0-9]*:)?GR[0-9]+$"


def el_form(value: str) -> str:
    """``GR:GR123456789`` / ``DE:GR123456789`` / ``GR123456789`` -> ``EL123456789``."""
    match = re.fullmatch(r"(?:[A-Z0-9]*:)?GR([0-9]+)", value)
    return f"EL{match.group(1)}" if match else value


def rewrite_greek_tax_ids(apps, schema_editor) -> int:
    """Rewrite old Greek tax-id identifiers and owe their holders a ring refresh; returns how
    many identifiers were rewritten."""
    SellerIdentifier = apps.get_model("sellers", "SellerIdentifier")
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    old = list(
        SellerIdentifier.objects.filter(kind=TAX_ID, value__regex=OLD_GREEK)
        .order_by("pk")
        .values_list("pk", "seller_id", "value")
    )
    if not old:
        return 0
    new_values = sorted({el_form(value) for _, _, value in old})
    # Sellers already holding an EL value (a bare Greek number, or EL typed): to be regrouped too.
    have: set[tuple[int, str]] = set()
    for start in range(0, len(new_values), BATCH):
        have.update(
            SellerIdentifier.objects.filter(
                kind=TAX_ID, value__in=new_values[start : start + BATCH]
            ).values_list("seller_id", "value")
        )
    holders = {seller_id for seller_id, _ in have}
    rewritten = []
    duplicate: list[int] = []
    for pk, seller_id, value in old:
        new = el_form(value)
        holders.add(seller_id)
        if (seller_id, new) in have:  # unique per seller and value: keep the one it holds
            duplicate.append(pk)
            continue
        have.add((seller_id, new))
        rewritten.append(SellerIdentifier(pk=pk, seller_id=seller_id, kind=TAX_ID, value=new))
    SellerIdentifier.objects.bulk_update(rewritten, ["value"], batch_size=BATCH)
    for start in range(0, len(duplicate), BATCH):
        SellerIdentifier.objects.filter(pk__in=duplicate[start : start + BATCH]).delete()
    ids = sorted(holders)
    OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(task=REFRESH_TASK, args=[ids[start : start + BATCH]])
            for start in range(0, len(ids), BATCH)
        ]
    )
    return len(old)


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0001_initial"),
        ("sellers", "0002_rings"),
    ]

    operations = [
        migrations.RunPython(rewrite_greek_tax_ids, migrations.RunPython.noop, elidable=True),
    ]
