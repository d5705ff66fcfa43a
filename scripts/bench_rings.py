"""Ring grouping at scale: time refresh_identifiers on N sellers (default 200 000).

    DATABASE_URL=postgres://... .venv/bin/python scripts/bench_rings.py [N]

Makes N sellers (external ids ``BENCH-…``) of which about one in ten belongs to a ring of 2–6
accounts sharing a phone, an address or a payment account; then times
1. the whole catalog's refresh (what a full import's last batch costs at most: one full pass),
2. import-sized batches of 2 000 sellers (the catalog import's batch),
3. one seller edited (the admin or a service), including a split,
and removes its sellers at the end. Run it on a scratch database: it writes N sellers.
"""

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from sellers.identity import refresh_identifiers, set_payment_accounts  # noqa: E402
from sellers.models import Seller, SellerIdentifier  # noqa: E402


def timed(label: str, fn) -> float:
    started = time.perf_counter()
    fn()
    took = time.perf_counter() - started
    print(f"{label:<58} {took:8.2f} s", flush=True)
    return took


def make_sellers(n: int) -> list[int]:
    rng = random.Random(8)  # noqa: S311 - test data, not secrets
    rows = []
    ring_no = 0
    i = 0
    while i < n:
        size = rng.randint(2, 6) if rng.random() < 0.03 else 1
        ring_no += 1
        for j in range(min(size, n - i)):
            shared = size > 1
            rows.append(
                Seller(
                    external_id=f"BENCH-{i:07d}",
                    name=f"Bench Person {i}",
                    company_name=f"Bench Co {i}",
                    email=f"bench{i}@example.com",
                    phone=f"+49 151 {ring_no:08d}" if shared and j % 2 == 0 else f"+1 415 {i:07d}",
                    address_line1=f"{ring_no} Ring Street" if shared and j % 2 else f"{i} Own Road",
                    postal_code="10115",
                    city="Berlin",
                    country="DE",
                    tax_id=f"DE{100000000 + i}",
                    company_registration=f"HRB {i}",
                )
            )
            i += 1
    Seller.objects.bulk_create(rows, batch_size=5000)
    return list(
        Seller.objects.filter(external_id__startswith="BENCH-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    Seller.objects.filter(external_id__startswith="BENCH-").delete()
    ids: list[int] = []
    timed(f"create {n} sellers (bulk insert, not ring work)", lambda: ids.extend(make_sellers(n)))
    payments = {pk: f"DE89370400440532{pk // 7:06d}" for pk in ids[::50]}
    timed(
        f"hash {len(payments)} payment accounts",
        lambda: set_payment_accounts(payments, refresh=False),
    )
    timed(
        f"refresh_identifiers on all {n} (identifiers + full pass)",
        lambda: refresh_identifiers(ids),
    )
    grouped = Seller.objects.filter(pk__in=ids, link_group__isnull=False).count()
    print(
        f"  {SellerIdentifier.objects.filter(seller_id__in=ids).count()} identifiers, "
        f"{grouped} sellers in groups"
    )
    batch = ids[n // 2 : n // 2 + 2000]
    timed("refresh_identifiers on one import batch of 2000", lambda: refresh_identifiers(batch))
    member = Seller.objects.filter(pk__in=ids, link_group__isnull=False).order_by("pk").first()

    def edit_one() -> None:
        member.phone = "+44 20 7946 0000"
        member.address_line1 = "Elsewhere 1"
        member.save()
        refresh_identifiers([member.pk])

    timed("refresh_identifiers on one edited seller (split)", edit_one)
    timed("refresh_identifiers on one unchanged seller", lambda: refresh_identifiers([ids[-1]]))
    timed("clean up", lambda: Seller.objects.filter(external_id__startswith="BENCH-").delete())


if __name__ == "__main__":
    main()
