"""Fixtures for the seller's pages: a closed account's case, the seller's link, a browser."""

import os
from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from appeals.links import make_token
from counterfeits.choices import CaseState
from listings.choices import ListingStatus
from sellers.choices import SellerStatus
from sellers.models import Seller
from tests.factories import CaseFactory, ListingFactory, SellerFactory, force_state
from tests.portal.support import chromium, page  # noqa: F401 - fixtures

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def closed_case(db, analyst):
    """A case whose account was closed an hour ago; its appeal window is open."""
    seller = SellerFactory(name="Sam Seller", company_name="Sam's Sundries")
    case = CaseFactory(seller=seller)
    listing = ListingFactory(
        seller=seller, product__brand=case.brand, title="Aurelia Chronograph (replica)"
    )
    case.listings.add(listing)
    now = timezone.now()
    Seller.objects.filter(pk=seller.pk).update(status=SellerStatus.CLOSED, closed_at=now)
    ListingFactory._meta.model.objects.filter(pk=listing.pk).update(
        status=ListingStatus.DELISTED, delisted_at=now, delisted_by_case=case
    )
    return force_state(
        case,
        CaseState.ACCOUNT_CLOSED,
        confirmed_by=analyst,
        confirmed_at=now - timedelta(hours=2),
        account_closed_at=now - timedelta(hours=1),
        appeal_deadline=now + timedelta(days=29),
    )


@pytest.fixture
def seller_link(closed_case):
    return f"/appeal/{make_token(closed_case)}/"


def token_made_at(case, when) -> str:
    """A seller token stamped at ``when`` (a past time), as if the e-mail were sent then."""
    original = signing.time.time
    signing.time.time = lambda: when.timestamp()
    try:
        return make_token(case)
    finally:
        signing.time.time = original
