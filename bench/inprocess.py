"""``python -m bench.inprocess``: one request's cost, in this process, ours beside the baseline.

The HTTP figures of ``bench.run`` move with the machine's load; this reads the database that
``python -m bench.run --keep`` left (``BENCH_DATABASE_URL``) and times each request through
Django's test client: median wall and CPU milliseconds over rounds, and the statements sent.
"""

import argparse
import base64
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from urllib.parse import urlencode

from bench.run import DEFAULT_BROKER, DEFAULT_DB, bench_env


def _count(sent: list[str], execute, sql, params, many, context):  # noqa: ANN001, ANN202
    """A Django execute_wrapper that notes each statement sent."""
    sent.append(sql)
    return execute(sql, params, many, context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=40, help="Requests per round.")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(
        bench_env(
            os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
            os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER),
        )
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from counterfeits.models import BrandMembership
    from referrals.models import Authority
    from referrals.services import issue_token
    from sellers.models import Seller

    owner = get_user_model().objects.get(username="bench-brand")
    _, owner_token = issue_token(user=owner)
    _, authority_token = issue_token(authority=Authority.objects.get(code="US-IPRC"))
    brand = BrandMembership.objects.filter(user=owner).first().brand
    sellers = list(Seller.objects.order_by("id").values_list("id", flat=True)[:500])
    last_referral = Authority.objects.get(code="US-IPRC").referrals.order_by("-id").first().pk
    owner_client = Client(HTTP_AUTHORIZATION=f"Bearer {owner_token}")
    authority_client = Client(HTTP_AUTHORIZATION=f"Bearer {authority_token}")
    plain = Client()

    def report(n: int) -> str:
        return json.dumps(
            {
                "brand": brand.pk,
                "seller": sellers[n % len(sellers)],
                "reason": "counterfeit",
                "explanation": "Test buy showed a fake: wrong hologram, no serial number.",
                "notifier_name": "Brand Protection Desk",
                "notifier_email": "protection@brand.example",
                "good_faith": True,
            }
        )

    def after(n: int) -> int:
        return (n * 100) % max(last_referral - 200, 1)

    def cursor(position: int) -> str:
        return base64.b64encode(urlencode({"p": str(position)}).encode()).decode()

    cases: dict[str, Callable[[int], object]] = {
        "referral list, page of 100": lambda n: authority_client.get(
            f"/api/v1/referrals/?page_size=100&cursor={cursor(after(n))}"
        ),
        "  baseline view": lambda n: plain.get(
            f"/bench/baseline/referrals/?authority=US-IPRC&after={after(n)}"
        ),
        "report intake POST": lambda n: owner_client.post(
            "/api/v1/reports/", report(n), content_type="application/json"
        ),
        "  baseline view ": lambda n: plain.post(
            "/bench/baseline/reports/", report(n), content_type="application/json"
        ),
    }
    for name, send in cases.items():
        send(0)  # warm: imports, the token's last_used_at
        sent: list[str] = []
        with connection.execute_wrapper(partial(_count, sent)):
            status = send(1).status_code
        walls, cpus = [], []
        for _ in range(args.rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            for n in range(args.requests):
                send(n)
            walls.append((time.perf_counter() - wall) / args.requests * 1000)
            cpus.append((time.process_time() - cpu) / args.requests * 1000)
        print(
            f"{name:28} HTTP {status}  {len(sent):2d} statements  "
            f"wall {statistics.median(walls):6.2f} ms  cpu {statistics.median(cpus):6.2f} ms"
        )


if __name__ == "__main__":
    main()
