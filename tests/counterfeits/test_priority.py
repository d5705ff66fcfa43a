"""Case priority: the lane set at open and the ring bump at confirm only ever raise it."""

import pytest
from django.utils import timezone

from counterfeits.choices import CaseState
from counterfeits.models import Case
from counterfeits.services import close_account, confirm_case, open_case
from sellers.choices import SellerStatus
from sellers.identity import refresh_identifiers
from sellers.models import Seller
from sellers.rings import PRIORITY_RING_WITH_CLOSED_SELLER
from tests.factories import (
    BrandFactory,
    CaseFactory,
    EvidenceFactory,
    ListingFactory,
    ReportFactory,
    SaleFactory,
    SellerFactory,
    force_state,
)

pytestmark = pytest.mark.django_db

SHARED_PHONE = "0151 2345 6789"


def seller(**fields) -> Seller:
    """A seller whose identifiers are indexed, so sellers sharing one are grouped."""
    made = SellerFactory(**{"phone": "", "address_line1": "", "tax_id": "", **fields})
    refresh_identifiers([made.pk])
    made.refresh_from_db()
    return made


def ring_with_a_closed_counterfeiter() -> Seller:
    """A seller sharing a phone with another seller whose account was closed for fakes."""
    closed = seller(status=SellerStatus.CLOSED, closed_at=timezone.now(), phone=SHARED_PHONE)
    force_state(CaseFactory(seller=closed), CaseState.ACCOUNT_CLOSED)
    return seller(phone=SHARED_PHONE)


def confirmable_case_from_report(brand, suspect: Seller, analyst) -> Case:
    """An open case opened from a report of ``brand``, with evidence and units sold."""
    listing = ListingFactory(seller=suspect, product__brand=brand)
    SaleFactory(listing=listing)
    report = ReportFactory(brand=brand, seller=suspect, listings=[listing])
    EvidenceFactory(report=report)
    return open_case(report_ids=[report.pk], actor=analyst)


def test_a_trusted_flaggers_case_in_a_ring_is_raised_to_the_ring_priority(analyst):
    # Given a trusted flagger's case (lane 2) against a seller in a ring with a closed fake seller
    case = confirmable_case_from_report(
        BrandFactory(trusted_flagger=True), ring_with_a_closed_counterfeiter(), analyst
    )
    assert case.priority == 2

    # When it is confirmed
    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    # Then it gets the ring's higher priority
    assert Case.objects.get(pk=case.pk).priority == PRIORITY_RING_WITH_CLOSED_SELLER


def test_confirming_outside_a_ring_keeps_the_lane_priority_set_at_open(analyst):
    # Given a trusted flagger's case (lane 2) against a seller in no ring
    case = confirmable_case_from_report(BrandFactory(trusted_flagger=True), seller(), analyst)
    assert case.priority == 2

    # When it is confirmed
    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    # Then the lane's priority stays: the ring check does not reset it
    assert Case.objects.get(pk=case.pk).priority == 2


def test_the_ring_bump_never_lowers_a_higher_priority(analyst):
    # Given a case in a ring that was given priority 5 by hand
    case = confirmable_case_from_report(BrandFactory(), ring_with_a_closed_counterfeiter(), analyst)
    Case.objects.filter(pk=case.pk).update(priority=5)

    # When it is confirmed
    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    # Then it keeps 5, not the ring's 3
    assert Case.objects.get(pk=case.pk).priority == 5


def test_the_ring_priority_survives_the_account_closure(analyst):
    # Given a case raised to the ring priority at confirmation
    case = confirmable_case_from_report(
        BrandFactory(trusted_flagger=True), ring_with_a_closed_counterfeiter(), analyst
    )
    confirm_case(case.pk, actor=analyst, reason="test buy was fake")

    # When the closure (which saves the whole case row) runs
    close_account(case.pk)

    # Then the priority is still the ring's
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.ACCOUNT_CLOSED
    assert case.priority == PRIORITY_RING_WITH_CLOSED_SELLER


def test_an_ordinary_brands_case_opens_at_priority_zero(analyst):
    case = confirmable_case_from_report(BrandFactory(), seller(), analyst)

    assert case.priority == 0
