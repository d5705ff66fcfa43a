"""A small world to attack: two brands, a case in appeal, a referral, every kind of caller.

Everything a caller must not see carries a *canary*: a string that appears nowhere else, so a
test can say "this reply holds no foreign data" by looking for it in the raw bytes.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from appeals.links import make_token
from appeals.models import Appeal, AppealEvidence
from appeals.services import file_appeal
from counterfeits import services
from counterfeits.choices import CaseState
from counterfeits.intake import EvidenceUpload
from counterfeits.models import Brand, Case, Evidence, Report
from referrals.models import Referral
from referrals.services import ensure_default_authorities, issue_token
from sellers.models import Seller
from tests.factories import (
    BrandFactory,
    BrandMembershipFactory,
    ListingFactory,
    MarketplaceFactory,
    SaleFactory,
    SellerFactory,
    TrademarkFactory,
    UserFactory,
)

# A 1×1 PNG: evidence files are checked by content, so it has to be a real image.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

# Strings that identify the target data; a caller outside ``MAY_SEE`` must never receive them.
CANARY = {
    "brand": "CanaryBrandQ7",
    "seller": "CanarySellerZ3",
    "report": "CanaryReportX9",
    "appeal": "CanaryAppealW4",
    "referred": "CanaryReferredV2",
}

ROLES = [
    "anonymous",
    "brand_other",
    "seller_other",
    "analyst",
    "reviewer",
    "authority_us",
    "authority_eu",
]

# Which canaries each role may legitimately receive somewhere.
MAY_SEE = {
    "anonymous": set(),
    "brand_other": set(),
    "seller_other": set(),
    "analyst": set(CANARY),
    "reviewer": set(CANARY),
    "authority_us": {"referred"},
    "authority_eu": set(),
}


@dataclass
class World:
    brand: Brand
    other_brand: Brand
    seller: Seller
    report: Report
    evidence: Evidence
    case: Case
    appeal: Appeal
    appeal_evidence: AppealEvidence
    other_case: Case
    referral: Referral
    referred_case: Case
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    seller_token: str = ""
    other_seller_token: str = ""


def _png(name: str = "evidence.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def _closed_case(
    *, brand: Brand, reporter, seller: Seller, explanation: str, confirmer, label=str
) -> Case:
    """A case opened from a report with evidence, confirmed and closed through the services."""
    listing = ListingFactory(
        seller=seller, product__brand=brand, product__title=label("product"), title=label("listing")
    )
    SaleFactory(listing=listing, units=5)
    report = services.file_report(
        brand=brand,
        reporter=reporter,
        reason="counterfeit",
        explanation=explanation,
        notifier_name="Brand protection desk",
        notifier_email="desk@brand.example",
        good_faith=True,
        listing_ids=[listing.pk],
        evidence=[EvidenceUpload(file=_png(), description=label("evidence"))],
    )
    case = services.open_case(report_ids=[report.pk], actor=confirmer, reason=label("opened"))
    services.confirm_case(case.pk, actor=confirmer, reason=label("confirmed"))
    services.close_account(case.pk)
    return Case.objects.get(pk=case.pk)


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Throttle and lockout counters live in the cache: each test starts with a full budget."""
    cache.clear()
    yield
    cache.clear()


def make_world(analyst, reviewer, label=lambda key: CANARY.get(key, key)) -> World:
    """The world; ``label(key)`` gives each free text (a canary, or an attack string)."""
    authorities = {a.code: a for a in ensure_default_authorities()}
    confirmer = UserFactory(groups=["analyst"])
    brand = BrandFactory(name=label("brand"))
    TrademarkFactory(brand=brand)
    owner = BrandMembershipFactory(brand=brand).user
    other_membership = BrandMembershipFactory(brand=BrandFactory(name="Other brand"))
    other = other_membership.user
    seller = SellerFactory(
        name=label("seller"), company_name=f"{label('seller')} Ltd",
        address_line1=label("address"), city=label("city"),
    )  # fmt: skip
    case = _closed_case(
        brand=brand, reporter=owner, seller=seller, explanation=label("report"),
        confirmer=confirmer, label=label,
    )  # fmt: skip
    appeal = file_appeal(case.pk, statement=label("appeal"), evidence=[_png("appeal.png")])
    other_case = _closed_case(
        brand=other_membership.brand, reporter=other, seller=SellerFactory(name="Other seller"),
        explanation="Another brand's report.", confirmer=confirmer,
    )  # fmt: skip

    referred_seller = SellerFactory(
        name=label("referred"), company_name=label("company"), address_line1=label("address"),
        country="US",
    )  # fmt: skip
    referred_brand = BrandFactory(name=label("referred brand"))
    TrademarkFactory(brand=referred_brand)
    referred_case = _closed_case(
        brand=referred_brand, reporter=confirmer, seller=referred_seller,
        explanation=label("referred report"), confirmer=confirmer, label=label,
    )  # fmt: skip
    MarketplaceFactory(code="us")
    Case.objects.filter(pk=referred_case.pk).update(
        appeal_deadline=timezone.now() - timedelta(days=1)
    )
    services.expire_appeal_window(referred_case.pk)
    referral = Referral.objects.get(case=referred_case, authority__code="US-IPRC")
    assert Case.objects.get(pk=referred_case.pk).state == CaseState.REFERRED

    world = World(
        brand=brand,
        other_brand=other_case.brand,
        seller=seller,
        report=case.reports.get(),
        evidence=Evidence.objects.filter(report__case=case).exclude(file="").first(),
        case=Case.objects.get(pk=case.pk),
        appeal=appeal,
        appeal_evidence=AppealEvidence.objects.get(appeal=appeal),
        other_case=other_case,
        referral=referral,
        referred_case=referred_case,
    )
    world.users = {
        "brand_own": owner,
        "brand_other": other,
        "analyst": analyst,
        "reviewer": reviewer,
        "confirmer": confirmer,
    }
    world.tokens = {
        "authority_us": issue_token(authority=authorities["US-IPRC"])[1],
        "authority_eu": issue_token(authority=authorities["EU-IPC3"])[1],
        "analyst": issue_token(user=analyst)[1],
    }
    world.seller_token = make_token(case)
    world.other_seller_token = make_token(other_case)
    return world


@pytest.fixture
def world(db, analyst, reviewer) -> World:
    return make_world(analyst, reviewer)


def client_for(world: World, role: str) -> Client:
    """A browser-or-script client acting as ``role`` (sessions for people, bearer for machines)."""
    client = Client()
    if role in world.users:
        client.force_login(world.users[role])
    elif role.startswith("authority_"):
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {world.tokens[role]}"
    return client
