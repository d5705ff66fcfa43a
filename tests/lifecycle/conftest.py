"""Arrangements for lifecycle tests: a case ready to confirm, with authorities to route to."""

import pytest

from referrals.models import Authority, RoutingRule
from tests.factories import (
    AuthorityFactory,
    EvidenceFactory,
    ListingFactory,
    MarketplaceFactory,
    ProductFactory,
    ReportFactory,
    SaleFactory,
    SellerFactory,
)

EU27 = [
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
]  # fmt: skip


@pytest.fixture
def authorities(db) -> dict[str, Authority]:
    """US-IPRC for a US nexus, EU-IPC3 for an EU nexus; both pull-only."""
    us = AuthorityFactory(code="US-IPRC")
    eu = AuthorityFactory(code="EU-IPC3")
    RoutingRule.objects.create(authority=us, countries=["US"])
    RoutingRule.objects.create(authority=eu, countries=EU27)
    return {"US-IPRC": us, "EU-IPC3": eu}


@pytest.fixture
def make_report(db):
    """A report on a seller with one listing per marketplace given, sales and evidence."""

    def make(*, seller_country="US", marketplaces=("us",), customer_countries=None, **kw):
        seller = SellerFactory(country=seller_country)
        product = ProductFactory(**kw)
        listings = []
        for code in marketplaces:
            marketplace = MarketplaceFactory(code=code)
            listing = ListingFactory(seller=seller, product=product, marketplace=marketplace)
            listings.append(listing)
            for country in customer_countries or [listing.marketplace.country]:
                SaleFactory(listing=listing, units=2, customer_country=country)
        brand = listings[0].product.brand
        report = ReportFactory(seller=seller, brand=brand, listings=listings)
        EvidenceFactory(report=report)
        # Another active listing of the seller, not reported: closure delists it too.
        ListingFactory(seller=seller, product=ProductFactory(brand=brand))
        return report

    return make
