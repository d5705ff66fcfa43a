"""factory_boy factories for the Touchstone models, and helpers to put cases in a given state.

Factories fill the required fields with deterministic, readable values and nothing more: a test
says what matters to it. ``Case.state`` is a protected FSM field, so ``CaseFactory`` always makes
an ``open`` case; use ``force_state`` to arrange any other state.
"""

import hashlib
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.utils import timezone

from appeals.models import AppealEvidence
from counterfeits.choices import EvidenceKind, MembershipRole, ReportReason
from counterfeits.models import Brand, BrandMembership, Case, Evidence, Report, Trademark
from listings.models import Listing, Marketplace, Product, Sale
from referrals.models import Authority
from sellers.models import Seller

# Every user made here can log in with this password (the browser tests need one).
PASSWORD = "touchstone-test-password"

MARKETPLACE_CURRENCIES = {"US": "USD", "GB": "GBP"}

# The authorities of DESIGN.md, by code.
AUTHORITIES = {
    "US-IPRC": {
        "name": "National Intellectual Property Rights Coordination Center",
        "jurisdiction": "US",
        "legal_basis": "18 U.S.C. 2320 (trafficking in counterfeit goods); voluntary disclosure.",
    },
    "EU-IPC3": {
        "name": "Europol Intellectual Property Crime Coordinated Coalition (IPC3)",
        "jurisdiction": "EU",
        "legal_basis": "Regulation (EU) 2022/2065 (Digital Services Act), Art. 18.",
    },
}


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``UserFactory(groups=["analyst"])`` puts them in role groups (made if missing)."""

    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if not create or not extracted:
            return
        for name in extracted:
            group, _ = Group.objects.get_or_create(name=name)
            self.groups.add(group)


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")


class TrademarkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Trademark

    brand = factory.SubFactory(BrandFactory)
    office = "USPTO"
    number = factory.Sequence(lambda n: f"{9000000 + n}")
    classes = "9, 25"


class BrandMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BrandMembership

    brand = factory.SubFactory(BrandFactory)
    user = factory.SubFactory(UserFactory, groups=["brand_owner"])
    role = MembershipRole.OWNER


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    external_id = factory.Sequence(lambda n: f"S-{n:06d}")
    name = factory.Sequence(lambda n: f"Seller Person {n}")
    company_name = factory.Sequence(lambda n: f"Seller Trading Co {n}")
    company_registration = factory.Sequence(lambda n: f"REG-{n:06d}")
    tax_id = factory.Sequence(lambda n: f"TAX-{n:06d}")
    email = factory.Sequence(lambda n: f"seller{n}@sellers.example")
    phone = factory.Sequence(lambda n: f"+1 555 01{n % 100:02d}")
    address_line1 = factory.Sequence(lambda n: f"{n + 1} Market Street")
    city = "Springfield"
    region = "IL"
    postal_code = "62701"
    country = "US"


class MarketplaceFactory(factory.django.DjangoModelFactory):
    """``MarketplaceFactory()`` is the US site; ``MarketplaceFactory(code="de")`` the German one."""

    class Meta:
        model = Marketplace
        django_get_or_create = ("code",)

    code = "us"
    country = factory.LazyAttribute(lambda o: o.code.upper())
    name = factory.LazyAttribute(lambda o: f"Marketplace {o.code.upper()}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    external_id = factory.Sequence(lambda n: f"P-{n:06d}")
    brand = factory.SubFactory(BrandFactory)
    title = factory.LazyAttributeSequence(lambda o, n: f"{o.brand.name} wireless earbuds {n}")
    gtin = factory.Sequence(lambda n: f"{4006381333931 + n}")


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    external_id = factory.Sequence(lambda n: f"L-{n:06d}")
    seller = factory.SubFactory(SellerFactory)
    product = factory.SubFactory(ProductFactory)
    marketplace = factory.SubFactory(MarketplaceFactory)
    title = factory.LazyAttribute(lambda o: o.product.title)
    url = factory.LazyAttribute(
        lambda o: f"https://{o.marketplace.code}.shop.example/{o.external_id}"
    )
    price = Decimal("19.99")
    currency = factory.LazyAttribute(
        lambda o: MARKETPLACE_CURRENCIES.get(o.marketplace.country, "EUR")
    )


class SaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sale

    external_id = factory.Sequence(lambda n: f"O-{n:06d}")
    listing = factory.SubFactory(ListingFactory)
    units = 3
    customer_country = factory.LazyAttribute(lambda o: o.listing.marketplace.country)
    sold_at = factory.LazyFunction(timezone.now)


class ReportFactory(factory.django.DjangoModelFactory):
    """A brand owner's report; ``listings=[...]`` names them, else one listing is made for it."""

    class Meta:
        model = Report
        skip_postgeneration_save = True

    brand = factory.SubFactory(BrandFactory)
    reporter = factory.SubFactory(UserFactory, groups=["brand_owner"])
    seller = factory.SubFactory(SellerFactory)
    reason = ReportReason.COUNTERFEIT
    explanation = "Test buy received: packaging and serial number do not match the genuine item."
    notifier_name = factory.LazyAttribute(
        lambda o: o.reporter.get_full_name() if o.reporter else "Brand protection team"
    )
    notifier_email = factory.LazyAttribute(
        lambda o: o.reporter.email if o.reporter else "protection@brand.example"
    )
    good_faith = True

    @factory.post_generation
    def listings(self, create, extracted, **kwargs):
        if not create:
            return
        if extracted is None:
            extracted = [ListingFactory(seller=self.seller, product__brand=self.brand)]
        self.listings.add(*extracted)


class EvidenceFactory(factory.django.DjangoModelFactory):
    """Evidence on a report (made if not given), or on ``case=...``; sha256 is of ``content``."""

    class Meta:
        model = Evidence

    class Params:
        content = factory.Sequence(lambda n: f"test-buy receipt {n}".encode())

    case = None
    report = factory.Maybe(
        "case", yes_declaration=None, no_declaration=factory.SubFactory(ReportFactory)
    )
    kind = EvidenceKind.TEST_BUY
    description = "Receipt and photos of a test buy."
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    collected_at = factory.LazyFunction(timezone.now)


class AppealEvidenceFactory(factory.django.DjangoModelFactory):
    """A file the seller sent with ``appeal=...``, stored under its sha256 (of ``content``)."""

    class Meta:
        model = AppealEvidence

    class Params:
        content = factory.Sequence(lambda n: f"%PDF-1.4 distributor invoice {n}".encode())

    original_name = factory.Sequence(lambda n: f"invoice-{n}.pdf")
    content_type = "application/pdf"
    size = factory.LazyAttribute(lambda o: len(o.content))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.content).hexdigest())
    file = factory.LazyAttribute(lambda o: ContentFile(o.content, name=o.sha256))


class CaseFactory(factory.django.DjangoModelFactory):
    """An ``open`` case; ``listings=[...]`` attaches listings. Other states: ``force_state``."""

    class Meta:
        model = Case
        skip_postgeneration_save = True

    seller = factory.SubFactory(SellerFactory)
    brand = factory.SubFactory(BrandFactory)

    @factory.post_generation
    def listings(self, create, extracted, **kwargs):
        if create and extracted:
            self.listings.add(*extracted)


class AuthorityFactory(factory.django.DjangoModelFactory):
    """``AuthorityFactory()`` is ``US-IPRC``; ``AuthorityFactory(code="EU-IPC3")`` the EU one."""

    class Meta:
        model = Authority
        django_get_or_create = ("code",)

    code = "US-IPRC"
    name = factory.LazyAttribute(lambda o: AUTHORITIES.get(o.code, {}).get("name", o.code))
    jurisdiction = factory.LazyAttribute(
        lambda o: AUTHORITIES.get(o.code, {}).get("jurisdiction", o.code[:2])
    )
    legal_basis = factory.LazyAttribute(
        lambda o: AUTHORITIES.get(o.code, {}).get("legal_basis", "Lawful request.")
    )


def force_state(case: Case, state: str, **fields) -> Case:
    """Put ``case`` in ``state`` (and set ``fields``) in the database, bypassing the FSM.

    Arrange-only: it writes no CaseEvent and runs no side effects. Returns the case as stored
    now (a fresh instance): use it instead of the one passed in.
    """
    Case.objects.filter(pk=case.pk).update(state=state, **fields)
    return Case.objects.get(pk=case.pk)


def confirmable_case(*, units: int = 3, **case_fields) -> Case:
    """An ``open`` case that ``confirm`` accepts: one listing of the brand, units sold, evidence."""
    case = CaseFactory(**case_fields)
    listing = ListingFactory(seller=case.seller, product__brand=case.brand)
    case.listings.add(listing)
    SaleFactory(listing=listing, units=units)
    EvidenceFactory(case=case)
    return case
