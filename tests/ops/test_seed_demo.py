"""seed_demo: a demo with cases in every state, made by the services; running it twice changes
nothing."""

import hashlib
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, Max

from appeals.choices import AppealOutcome
from counterfeits.audit import verify_all_chains
from counterfeits.choices import CaseState, ReportReason
from counterfeits.models import Brand, Case, CaseEvent, Evidence, Report
from counterfeits.services import allowed_transitions
from listings.models import Marketplace
from referrals.models import Authority, Referral, SigningKey
from referrals.signing import verify
from sellers.models import Seller, SellerIdentifier

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    """Row counts of every model, plus the latest change time of every model that keeps one."""
    state: dict[str, object] = {}
    for model in apps.get_models():
        label = model._meta.label
        state[label] = model._default_manager.count()
        if any(field.name == "updated_at" for field in model._meta.fields):
            state[f"{label}.updated_at"] = model._default_manager.aggregate(m=Max("updated_at"))[
                "m"
            ]
    state["case states"] = sorted(Case.objects.values_list("pk", "state"))
    state["event hashes"] = sorted(CaseEvent.objects.values_list("hash", flat=True))
    state["passwords"] = sorted(get_user_model().objects.values_list("username", "password"))
    return state


@pytest.fixture
def seeded() -> str:
    return seed()


def test_seed_makes_cases_in_every_state(seeded):
    counts = dict(Case.objects.values_list("state").annotate(n=Count("id")))

    assert {state: counts.get(state, 0) > 0 for state in CaseState.values} == {
        state: True for state in CaseState.values
    }
    for state in CaseState.values:
        assert f"  {state}" in seeded


def test_every_seeded_timeline_is_a_valid_hash_chain(seeded):
    cases, events, broken = verify_all_chains()

    assert broken is None
    assert cases == Case.objects.count()
    assert events == CaseEvent.objects.count() > cases


def test_seed_makes_the_users_and_prints_the_password(seeded):
    users = get_user_model().objects
    groups = {u.username: set(u.groups.values_list("name", flat=True)) for u in users.all()}

    assert groups["analyst"] == {"analyst"}
    assert groups["reviewer"] == {"reviewer"}
    assert groups["brand"] == {"brand_owner"}
    assert users.get(username="brand").brand_memberships.count() == 2
    assert users.get(username="admin").is_superuser
    assert all(users.get(username=u).check_password("touchstone-demo") for u in groups)
    assert "Password: touchstone-demo" in seeded


def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-secret")

    output = seed()

    assert get_user_model().objects.get(username="analyst").check_password("another-demo-secret")
    assert "Password: another-demo-secret" in output


def test_seed_makes_the_authorities_marketplaces_and_sellers(seeded):
    assert set(Authority.objects.values_list("code", "jurisdiction")) == {
        ("US-IPRC", "US"),
        ("EU-IPC3", "EU"),
    }
    assert set(Marketplace.objects.values_list("code", "country")) == {
        ("us", "US"),
        ("de", "DE"),
        ("fr", "FR"),
        ("uk", "GB"),
    }
    sellers = Seller.objects.filter(external_id__startswith="demo-")
    assert sellers.count() == 20
    assert set(sellers.values_list("country", flat=True)) == {"US", "DE", "FR", "CN", "GB"}
    assert not sellers.filter(email="").exists()
    assert not sellers.filter(phone="").exists()
    for kind in ("email", "phone"):
        assert SellerIdentifier.objects.filter(kind=kind).values("seller").distinct().count() == 20


def test_brands_have_trademarks_and_reports_from_several_owners(seeded):
    offices = set(Brand.objects.values_list("trademarks__office", flat=True))
    reporters_per_brand = (
        Report.objects.exclude(reporter=None)
        .values("brand")
        .annotate(n=Count("reporter", distinct=True))
    )

    assert offices == {"USPTO", "EUIPO"}
    assert Brand.objects.filter(verified=True).exists()
    assert Brand.objects.filter(verified=False).exists()
    assert max(row["n"] for row in reporters_per_brand) >= 2


def test_open_cases_are_ready_to_confirm(seeded):
    open_cases = Case.objects.filter(state=CaseState.OPEN)

    assert open_cases.exists()
    for case in open_cases:
        assert case.has_evidence()
        assert case.units_sold() > 0
        assert "confirm" in allowed_transitions(case)


def test_the_appeal_awaiting_review_was_confirmed_by_analyst(seeded):
    case = Case.objects.get(state=CaseState.APPEAL_REVIEW)

    assert case.confirmed_by.username == "analyst"
    assert case.appeal.outcome == AppealOutcome.PENDING
    assert {"grant_appeal", "deny_appeal"} <= set(allowed_transitions(case))


def test_evidence_files_are_stored_with_their_digest(seeded):
    evidence = Evidence.objects.exclude(file="")

    assert evidence.exists()
    assert {e.content_type for e in evidence} >= {"image/png", "text/plain"}
    for item in evidence:
        with item.file.open("rb") as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == item.sha256


def test_referred_cases_carry_signed_packets(seeded):
    referred = Case.objects.filter(state=CaseState.REFERRED)
    referrals = Referral.objects.filter(case__in=referred)
    keys = dict(SigningKey.objects.values_list("key_id", "public_key"))

    assert set(referrals.values_list("authority__code", flat=True)) == {"US-IPRC", "EU-IPC3"}
    assert set(referred.values_list("pk", flat=True)) == set(
        referrals.values_list("case_id", flat=True)
    )
    for referral in referrals:
        payload = referral.packet_json.encode()
        assert hashlib.sha256(payload).hexdigest() == referral.sha256
        assert verify(payload, referral.signature, keys[referral.key_id])
    assert Case.objects.filter(state=CaseState.REFERRED, safety_risk=True).count() >= 2


def test_a_linked_seller_is_flagged_by_ring_detection(seeded):
    alert = Report.objects.get(reason=ReportReason.LINKED_TO_CLOSED_SELLER)

    assert alert.seller.external_id == "demo-seller-17"
    assert alert.case is None


def test_running_the_seed_twice_changes_nothing(seeded):
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "nothing changed" in output
