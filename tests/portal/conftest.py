"""Fixtures for the portal and appeal tests: a brand with its owner, files, a headless browser."""

import os

import pytest

from tests.factories import (
    BrandFactory,
    BrandMembershipFactory,
    ListingFactory,
    SellerFactory,
    UserFactory,
)
from tests.portal.support import PNG_BYTES, chromium, page  # noqa: F401 - fixtures

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# there are still synchronous and safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


@pytest.fixture
def brand(db):
    return BrandFactory(name="Aurelia Watches", verified=True)


@pytest.fixture
def owner(db, brand):
    """A brand owner, member of ``brand``."""
    user = UserFactory(username="aurelia-owner", groups=["brand_owner"])
    BrandMembershipFactory(brand=brand, user=user)
    return user


@pytest.fixture
def other_owner(db):
    """A brand owner of another brand, with a report of their own."""
    other = BrandFactory(name="Borealis Bags")
    user = UserFactory(username="borealis-owner", groups=["brand_owner"])
    BrandMembershipFactory(brand=other, user=user)
    return user


@pytest.fixture
def listing(db, brand):
    seller = SellerFactory(name="Dodgy Dealer", company_name="Dodgy Deals Ltd")
    return ListingFactory(
        seller=seller,
        product__brand=brand,
        title="Aurelia Chronograph 42mm (replica)",
        url="https://shop.example/listing/aurelia-42",
    )
