"""The legal basis of a disclosure depends on the case.

A product that threatens life or safety is notified under EU DSA Art. 18 (and referred on
closure); an ordinary counterfeit case is a voluntary report of a suspected crime (GDPR
Art. 6(1)(f) and Art. 10 for the EU, 18 U.S.C. § 2320 for the US). The referral records the
basis it was sent on, and the signed packet states the same.
"""

import json

import pytest
from django.utils import timezone

from counterfeits import services
from counterfeits.choices import CaseState
from counterfeits.models import Case
from referrals.models import Authority, Referral, SigningKey
from referrals.services import (
    DEFAULT_AUTHORITIES,
    EU_LEGAL_BASIS,
    EU_SAFETY_LEGAL_BASIS,
    SUPERSEDED_LEGAL_BASES,
    US_LEGAL_BASIS,
    US_SAFETY_LEGAL_BASIS,
    ensure_default_authorities,
)
from referrals.signing import verify
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

pytestmark = pytest.mark.django_db


def case_selling_in(country: str, *, safety_risk: bool) -> Case:
    """A confirmable case whose seller, marketplace and customers are in ``country``."""
    seller = SellerFactory(country=country)
    case = CaseFactory(seller=seller, safety_risk=safety_risk)
    TrademarkFactory(brand=case.brand)
    marketplace = MarketplaceFactory(code=country.lower(), country=country)
    listing = ListingFactory(
        seller=seller,
        product__brand=case.brand,
        product__safety_risk=safety_risk,
        marketplace=marketplace,
    )
    case.listings.add(listing)
    SaleFactory(listing=listing, units=3)
    EvidenceFactory(case=case)
    return case


def refer_after_window(case: Case) -> list[Referral]:
    force_state(case, CaseState.REFERRAL_PENDING, account_closed_at=timezone.now())
    return services.refer_case(case.pk)


def rows() -> list[tuple]:
    return list(
        Authority.objects.order_by("code").values_list("code", "legal_basis", "safety_legal_basis")
    )


# --- the authorities' texts ------------------------------------------------------------------


def test_the_default_authorities_have_an_ordinary_and_a_safety_basis():
    authorities = {a.code: a for a in ensure_default_authorities()}

    eu, us = authorities["EU-IPC3"], authorities["US-IPRC"]
    assert "Art. 6(1)(f)" in eu.legal_basis
    assert "Art. 10" in eu.legal_basis
    assert "DSA Art. 18 is not relied on" in eu.legal_basis
    assert "(Digital Services Act) Art. 18" in eu.safety_legal_basis
    assert "life or safety" in eu.safety_legal_basis
    assert "18 U.S.C. § 2320" in us.legal_basis
    assert "18 U.S.C. § 2320" in us.safety_legal_basis


def test_ensuring_the_authorities_twice_changes_nothing():
    ensure_default_authorities()
    before = rows()

    ensure_default_authorities()

    assert rows() == before


def test_existing_authorities_get_the_safety_basis_and_an_old_default_is_replaced():
    # Given the authorities as an earlier version left them: no safety basis, the EU one still
    # citing DSA Art. 18 for every case, and the US one edited by an operator
    edited = "Disclosure agreed with HSI under MoU 2025-17."
    Authority.objects.create(
        code="EU-IPC3", name="Europol IPC3", jurisdiction="EU",
        legal_basis=SUPERSEDED_LEGAL_BASES["EU-IPC3"],
    )  # fmt: skip
    Authority.objects.create(
        code="US-IPRC", name="IPR Center", jurisdiction="US", legal_basis=edited
    )

    # When the defaults are ensured
    ensure_default_authorities()

    # Then both get their safety basis; the old EU default is replaced, the edited text kept
    assert rows() == [
        ("EU-IPC3", EU_LEGAL_BASIS, EU_SAFETY_LEGAL_BASIS),
        ("US-IPRC", edited, US_SAFETY_LEGAL_BASIS),
    ]
    # and an operator's own safety basis would be kept too
    Authority.objects.filter(code="US-IPRC").update(safety_legal_basis="Operator's text.")
    ensure_default_authorities()
    assert Authority.objects.get(code="US-IPRC").safety_legal_basis == "Operator's text."


def test_an_authority_without_a_safety_basis_cites_its_ordinary_one_for_every_case():
    authority = Authority(code="X", legal_basis="Ordinary.", safety_legal_basis="  ")

    assert authority.legal_basis_for(safety_risk=True) == "Ordinary."
    assert authority.legal_basis_for(safety_risk=False) == "Ordinary."


def test_every_default_authority_names_both_bases():
    for spec in DEFAULT_AUTHORITIES:
        assert spec["legal_basis"]
        assert spec["safety_legal_basis"]
        assert spec["legal_basis"] != spec["safety_legal_basis"]
    assert US_LEGAL_BASIS != US_SAFETY_LEGAL_BASIS


# --- what a referral records and its packet states -------------------------------------------


@pytest.mark.parametrize(
    ("country", "code", "expected"),
    [("DE", "EU-IPC3", EU_LEGAL_BASIS), ("US", "US-IPRC", US_LEGAL_BASIS)],
)
def test_an_ordinary_counterfeit_case_is_referred_as_a_voluntary_report(country, code, expected):
    # Given the default authorities and an ordinary counterfeit case (no safety risk)
    ensure_default_authorities()
    case = case_selling_in(country, safety_risk=False)

    # When it is referred after the appeal window
    referral = next(r for r in refer_after_window(case) if r.authority.code == code)

    # Then the referral and its signed packet cite the ordinary basis, not DSA Art. 18's duty
    stored = Referral.objects.get(pk=referral.pk)
    packet = json.loads(stored.packet_json)
    assert stored.legal_basis == expected
    assert packet["legal_basis"] == expected
    assert "threat to the life or safety" not in packet["legal_basis"]
    public_key = SigningKey.objects.get(key_id=stored.key_id).public_key
    assert verify(stored.packet_json.encode(), stored.signature, public_key)


@pytest.mark.parametrize(
    ("country", "code", "expected"),
    [("FR", "EU-IPC3", EU_SAFETY_LEGAL_BASIS), ("US", "US-IPRC", US_SAFETY_LEGAL_BASIS)],
)
def test_a_safety_risk_case_referred_on_closure_cites_the_safety_basis(
    country, code, expected, analyst
):
    # Given the default authorities and a fake charger sold to customers
    ensure_default_authorities()
    case = case_selling_in(country, safety_risk=True)

    # When it is confirmed and the account closed (which refers it at once)
    services.confirm_case(case.pk, actor=analyst, reason="lab: no isolation barrier")
    services.close_account(case.pk)

    # Then the referral and its packet cite the safety basis (DSA Art. 18 for the EU)
    stored = Referral.objects.get(case=case, authority__code=code)
    assert Case.objects.get(pk=case.pk).state == CaseState.REFERRED
    assert stored.legal_basis == expected
    assert json.loads(stored.packet_json)["legal_basis"] == expected


def test_the_basis_is_frozen_with_the_packet():
    # Given an ordinary case referred to the EU authority
    ensure_default_authorities()
    (referral,) = refer_after_window(case_selling_in("DE", safety_risk=False))
    packet_before = Referral.objects.get(pk=referral.pk).packet_json

    # When the operator later changes the authority's legal basis
    Authority.objects.filter(code="EU-IPC3").update(legal_basis="A later text.")

    # Then the referral already made keeps the basis it was sent on
    stored = Referral.objects.get(pk=referral.pk)
    assert stored.legal_basis == EU_LEGAL_BASIS
    assert stored.packet_json == packet_before
