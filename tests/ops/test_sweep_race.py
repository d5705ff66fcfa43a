"""Two sweeps racing on the same due cases: SKIP LOCKED gives each case to exactly one."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from counterfeits.services import sweep_deadlines
from referrals.models import Referral
from referrals.routing import route
from tests.factories import CaseFactory, EvidenceFactory, ListingFactory, SaleFactory, force_state

DUE_CASES = 40


def due_case() -> Case:
    """A closed account whose window ran out: US seller, sold on the German site to Germans,
    so it is routed to both US-IPRC and EU-IPC3."""
    listing = ListingFactory(seller__country="US", marketplace__code="de")
    SaleFactory(listing=listing, units=2, customer_country="DE")
    case = CaseFactory(seller=listing.seller, brand=listing.product.brand, listings=[listing])
    EvidenceFactory(case=case)
    closed = timezone.now() - timedelta(days=31)
    return force_state(
        case,
        CaseState.ACCOUNT_CLOSED,
        account_closed_at=closed,
        appeal_deadline=closed + timedelta(days=30),
    )


@pytest.mark.django_db(transaction=True)
def test_two_racing_sweeps_refer_each_case_once(authorities, purge_broker):
    # given 40 due cases
    cases = [due_case() for _ in range(DUE_CASES)]
    start = threading.Barrier(2)

    def sweeper() -> int:
        try:
            start.wait(timeout=30)
            return sweep_deadlines(batch_size=5)
        finally:
            # Each thread has its own connection: close it, or the test database stays in use.
            connection.close()

    # when two sweeps run at the same moment
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(sweeper) for _ in range(2)]
        referred = [future.result(timeout=120) for future in futures]

    # then every case was referred exactly once, by one of them
    assert sum(referred) == DUE_CASES
    ids = [case.pk for case in cases]
    assert set(Case.objects.filter(pk__in=ids).values_list("state", flat=True)) == {
        CaseState.REFERRED
    }
    events = Counter(CaseEvent.objects.filter(case_id__in=ids).values_list("case_id", "transition"))
    for case in cases:
        assert events[(case.pk, "expire_appeal_window")] == 1
        assert events[(case.pk, "refer")] == 1
    for case in cases:
        routed = sorted(a.code for a in route(case))
        got = Referral.objects.filter(case=case).values_list("authority__code", flat=True)
        assert routed == ["EU-IPC3", "US-IPRC"]
        assert sorted(got) == routed
