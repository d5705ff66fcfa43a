"""Arranging cases the real way, and checking the books after a fault.

The books balance when nothing owed is missing: every confirmed case closed (seller closed,
listings delisted, statement of reasons sent), every due case referred, every referral delivered,
and every push delivery accepted exactly once by the receiver (by ``Idempotency-Key``), with no
outbox message left undone and every audit chain intact.
"""

from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, InterfaceError, connections
from django.utils import timezone

from counterfeits import services
from counterfeits.audit import verify_all_chains
from counterfeits.choices import CaseState
from counterfeits.models import Case, Notice
from listings.choices import ListingStatus
from listings.models import Listing
from outbox.models import OutboxMessage
from referrals.choices import ReferralStatus
from referrals.models import Referral
from sellers.choices import SellerStatus
from tests.chaos.stack import Receiver
from tests.factories import (
    BrandFactory,
    EvidenceFactory,
    ListingFactory,
    MarketplaceFactory,
    ReportFactory,
    SaleFactory,
    SellerFactory,
    UserFactory,
)
from tests.helpers import wait_for

DELIVERED = {ReferralStatus.DELIVERED, ReferralStatus.ACKNOWLEDGED}


def confirmable_cases(n: int, *, countries: tuple[str, ...] = ("US",)) -> list[int]:
    """``n`` cases opened from a report, that ``confirm`` accepts; sellers and customers in
    ``countries`` in turn.

    A US seller with US customers is referred to US-IPRC (push, the receiver); a DE one to
    EU-IPC3 (pull).
    """
    opener = UserFactory(groups=["analyst"])
    ids = []
    for i in range(n):
        country = countries[i % len(countries)]
        seller = SellerFactory(country=country)
        brand = BrandFactory()
        marketplace = MarketplaceFactory(code=country.lower())
        listing = ListingFactory(seller=seller, product__brand=brand, marketplace=marketplace)
        ListingFactory(seller=seller, product__brand=brand, marketplace=marketplace)
        SaleFactory(listing=listing, units=2, customer_country=country)
        report = ReportFactory(seller=seller, brand=brand, listings=[listing])
        EvidenceFactory(report=report)
        ids.append(services.open_case(report_ids=[report.pk], actor=opener).pk)
    return ids


def confirm_all(case_ids: list[int], actor) -> None:
    for case_id in case_ids:
        services.confirm_case(case_id, actor=actor, reason="test buy: counterfeit")


def closed_and_due(case_ids: list[int], actor) -> None:
    """Confirm and close in this process, then put every appeal deadline in the past."""
    confirm_all(case_ids, actor)
    for case_id in case_ids:
        services.close_account(case_id)
    Case.objects.filter(pk__in=case_ids).update(
        appeal_deadline=timezone.now() - timedelta(minutes=1)
    )


def idempotency_key(referral: Referral) -> str:
    return f"touchstone-packet-{referral.pk}-{referral.sha256[:16]}"


def unbalanced(receiver: Receiver, case_ids: list[int] | None = None) -> list[str]:
    """What is still owed or wrong; empty when the books balance."""
    problems: list[str] = []
    now = timezone.now()
    cases = Case.objects.all() if case_ids is None else Case.objects.filter(pk__in=case_ids)
    if n := cases.filter(state=CaseState.CONFIRMED).count():
        problems.append(f"{n} confirmed case(s) not closed")
    if n := cases.filter(state=CaseState.ACCOUNT_CLOSED, appeal_deadline__lte=now).count():
        problems.append(f"{n} due case(s) not swept")
    if n := cases.filter(state=CaseState.REFERRAL_PENDING).count():
        problems.append(f"{n} case(s) referral_pending")
    closed = cases.exclude(state__in=[CaseState.OPEN, CaseState.DISMISSED, CaseState.CONFIRMED])
    if n := closed.exclude(seller__status=SellerStatus.CLOSED).count():
        problems.append(f"{n} closed case(s) whose seller is not closed")
    if n := Listing.objects.filter(seller__cases__in=closed, status=ListingStatus.ACTIVE).count():
        problems.append(f"{n} listing(s) of closed sellers still active")
    if n := closed.exclude(notices__kind="statement_of_reasons").count():
        problems.append(f"{n} closed case(s) without a statement of reasons")
    if n := Notice.objects.filter(sent_at__isnull=True).count():
        problems.append(f"{n} notice(s) not sent")
    referred = cases.filter(state=CaseState.REFERRED)
    if n := referred.filter(referrals__isnull=True).count():
        problems.append(f"{n} referred case(s) without a referral")
    referrals = Referral.objects.filter(case__in=cases).select_related("authority")
    if n := referrals.exclude(status__in=DELIVERED).count():
        problems.append(f"{n} referral(s) not delivered")
    push = [r for r in referrals if r.authority.webhook_url]
    keys = {idempotency_key(r) for r in push}
    with receiver.lock:
        missing = keys - set(receiver.accepted)
        bad = receiver.bad_signatures
        wrong = [
            k
            for k in keys & set(receiver.accepted)
            if not k.endswith(receiver.accepted[k]["sha256"][:16])
        ]
    if missing:
        problems.append(f"{len(missing)} push referral(s) never accepted by the receiver")
    if bad:
        problems.append(f"{bad} delivery(ies) with a bad signature")
    if wrong:
        problems.append(f"{len(wrong)} accepted packet(s) with another digest than the referral")
    if n := OutboxMessage.objects.filter(done_at__isnull=True).count():
        problems.append(f"{n} outbox message(s) not done")
    _, _, broken = verify_all_chains()
    if broken:
        problems.append(f"audit chain broken: {broken}")
    return problems


def _retrying(check: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """A check that survives this process's connection being cut by a PostgreSQL restart."""

    def run() -> list[str]:
        try:
            return check()
        except (DatabaseError, InterfaceError) as exc:
            connections.close_all()
            return [f"database unavailable: {type(exc).__name__}"]

    return run


def settle(receiver: Receiver, case_ids: list[int] | None = None, timeout: float = 120) -> None:
    """Wait for the books to balance; fail with what is still owed at the deadline."""
    check = _retrying(lambda: unbalanced(receiver, case_ids))
    last: list[list[str]] = [[]]

    def balanced() -> bool:
        last[0] = check()
        return not last[0]

    try:
        wait_for(balanced, timeout=timeout, interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"the books do not balance: {last[0]}") from exc


def count(predicate: Callable[[], int]) -> int:
    try:
        return predicate()
    except (DatabaseError, InterfaceError):
        connections.close_all()
        return -1
