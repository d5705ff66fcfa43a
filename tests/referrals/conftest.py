"""Fixtures for the authority side: the default authorities, referrals made the real way, tokens."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from counterfeits.choices import CaseState
from counterfeits.models import Brand
from counterfeits.services import refer_case
from referrals.models import ApiToken, Authority, Referral
from referrals.services import ensure_default_authorities, issue_token, revoke_token
from tests.factories import (
    CaseFactory,
    EvidenceFactory,
    ListingFactory,
    MarketplaceFactory,
    SaleFactory,
    SellerFactory,
    TrademarkFactory,
    force_state,
)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttling counts live in the cache: each test starts with a full budget."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def authorities(db) -> dict[str, Authority]:
    """US-IPRC (US) and EU-IPC3 (EU27) with their routing rules, by code."""
    return {a.code: a for a in ensure_default_authorities()}


@pytest.fixture
def make_referral(authorities) -> Callable[..., Referral]:
    """A referral made through ``refer_case``: country ``US`` goes to US-IPRC, ``DE`` to EU-IPC3.

    The case has a seller, a listing with sales to customers in that country, evidence and a
    trademark; it is put in ``referral_pending`` and referred, so the packet is built and signed
    exactly as in production.
    """

    def make(country: str = "US", *, brand: Brand | None = None, **seller_fields) -> Referral:
        seller = SellerFactory(country=country, **seller_fields)
        case = CaseFactory(seller=seller, **({"brand": brand} if brand else {}))
        if brand is None:
            TrademarkFactory(brand=case.brand)
        marketplace = MarketplaceFactory(code=country.lower())
        listing = ListingFactory(seller=seller, product__brand=case.brand, marketplace=marketplace)
        case.listings.add(listing)
        SaleFactory(listing=listing, units=4)
        EvidenceFactory(case=case)
        force_state(case, CaseState.REFERRAL_PENDING, account_closed_at=timezone.now())
        referrals = refer_case(case.pk)
        code = "US-IPRC" if country == "US" else "EU-IPC3"
        return next(r for r in referrals if r.authority.code == code)

    return make


@pytest.fixture
def bearer() -> Callable[[str], APIClient]:
    """An API client that sends ``Authorization: Bearer <raw>``."""

    def client_for(raw: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client

    return client_for


@pytest.fixture
def us_token(authorities) -> tuple[ApiToken, str]:
    return issue_token(authority=authorities["US-IPRC"], token_name="intake system")


@pytest.fixture
def eu_token(authorities) -> tuple[ApiToken, str]:
    return issue_token(authority=authorities["EU-IPC3"], token_name="intake system")


@pytest.fixture
def expired_us_token(authorities) -> tuple[ApiToken, str]:
    return issue_token(
        authority=authorities["US-IPRC"],
        token_name="expired",
        expires_at=timezone.now() - timedelta(minutes=1),
    )


@pytest.fixture
def revoked_us_token(authorities) -> tuple[ApiToken, str]:
    token, raw = issue_token(authority=authorities["US-IPRC"], token_name="revoked")
    revoke_token(token)
    return token, raw
