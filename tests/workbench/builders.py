"""Arrange helpers for the workbench tests: cases in real states, appeals, referrals, attempts.

States are reached through the services where that is cheap (so the timeline and the chain are
real), and with ``force_state`` where a test only needs rows to list.
"""

import hashlib
from datetime import timedelta

from django.utils import timezone

from appeals.models import Appeal
from appeals.services import file_appeal
from counterfeits import services
from counterfeits.audit import record_event
from counterfeits.choices import CaseState
from counterfeits.models import Case
from referrals.choices import AccessAction, AttemptKind, AttemptOutcome, ReferralStatus
from referrals.models import AccessLogEntry, ApiClient, Authority, DeliveryAttempt, Referral
from tests.factories import AuthorityFactory, CaseFactory, confirmable_case, force_state


def closed_case(*, analyst, **case_fields) -> Case:
    """A case confirmed by ``analyst`` whose account closure has run (appeal window open)."""
    case = confirmable_case(**case_fields)
    record_event(case, "open", from_state="", actor=analyst, reason="case opened")
    services.confirm_case(case.pk, actor=analyst, reason="test buy confirms the fake")
    services.close_account(case.pk)
    return Case.objects.get(pk=case.pk)


def appealed_case(*, analyst, statement: str = "These were genuine goods.", **fields) -> Appeal:
    """A case confirmed by ``analyst``, closed, and appealed by the seller inside the window."""
    case = closed_case(analyst=analyst, **fields)
    return file_appeal(case.pk, statement=statement)


def listed_case(**fields) -> Case:
    """A plain open case with one event, for lists (cheap)."""
    case = CaseFactory(**fields)
    record_event(case, "open", from_state="", actor=None, reason="case opened")
    return case


def referral_for(
    case: Case, authority: Authority | None = None, *, status: str = ReferralStatus.DELIVERED
) -> Referral:
    """A referral row as ``create_referrals`` leaves it (packet content is not under test)."""
    authority = authority or AuthorityFactory()
    packet = f'{{"case_id":{case.pk},"authority":"{authority.code}"}}'
    return Referral.objects.create(
        case=case,
        authority=authority,
        status=status,
        packet_json=packet,
        sha256=hashlib.sha256(packet.encode()).hexdigest(),
        signature="c2lnbmF0dXJl",
        key_id="test-key",
        legal_basis=authority.legal_basis,
        profile="standard",
        seller_country=case.seller.country,
        brand_name=case.brand.name,
    )


def referred_case(**fields) -> Case:
    """A case in ``referred`` with a referral and a first report a few days before."""
    from tests.factories import ReportFactory

    case = listed_case(**fields)
    ReportFactory(
        seller=case.seller,
        brand=case.brand,
        case=case,
        created_at=timezone.now() - timedelta(days=3),
    )
    case = force_state(
        case, CaseState.REFERRED, referred_at=timezone.now(), confirmed_at=timezone.now()
    )
    return case


def attempts_for(referral: Referral, n: int) -> None:
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(
            referral=referral,
            kind=AttemptKind.PACKET,
            outcome=AttemptOutcome.RETRY,
            status_code=503,
            error="HTTP 503",
            duration_ms=12,
        )
        for _ in range(n)
    )


def access_for(referral: Referral, n: int) -> None:
    client, _ = ApiClient.objects.get_or_create(
        authority=referral.authority, name=f"{referral.authority.code} system"
    )
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            referral=referral, client=client, action=AccessAction.READ_JSON, ip="192.0.2.7"
        )
        for _ in range(n)
    )


def analyst_reads_for(referral: Referral, n: int, user) -> None:
    """Packet reads by an analyst through the session: a user, no API client or token."""
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(referral=referral, user=user, action=AccessAction.READ_PDF, ip="192.0.2.9")
        for _ in range(n)
    )


def ring_case(linked: int, *, closed: int = 0, state: str = CaseState.CONFIRMED) -> Case:
    """A case in ``state`` whose seller shares a phone with ``linked`` sellers, each with an open
    case, plus ``closed`` sellers closed for counterfeits, and one linked seller with no case."""
    from sellers.choices import SellerStatus
    from sellers.identity import refresh_identifiers
    from sellers.models import Seller
    from tests.factories import SellerFactory

    phone = f"+49 151 7000 {Seller.objects.count():04d}"
    seller = SellerFactory(phone=phone, country="DE")
    others = [SellerFactory(phone=phone, country="DE") for _ in range(linked + closed + 1)]
    refresh_identifiers([seller.pk, *(other.pk for other in others)], alert=False)
    for other in others[:linked]:
        CaseFactory(seller=other)
    for other in others[linked : linked + closed]:
        force_state(CaseFactory(seller=other), CaseState.ACCOUNT_CLOSED)
        Seller.objects.filter(pk=other.pk).update(status=SellerStatus.CLOSED)
    return force_state(listed_case(seller=seller), state)
