"""Property-level authorization: a body can carry only what the endpoint asks for.

Every write endpoint is sent, besides its real fields, the fields that decide who did what and
where a thing stands (``state``, ``confirmed_by``, ``status``, ``verified``, ``decided_by``...).
None of them may take effect; and the update verbs that no endpoint offers are refused.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.models import Appeal
from counterfeits.choices import CaseState, ReportStatus
from counterfeits.models import Brand, Case, Report
from referrals.choices import ReferralStatus
from referrals.models import Referral
from tests.factories import UserFactory
from tests.security.conftest import client_for
from tests.security.matrix import MASS_ASSIGNMENT
from tests.security.routes import all_routes


def test_a_transition_body_cannot_set_the_state_or_who_confirmed(world):
    # Given an open case, an analyst, and another user to impersonate
    other = UserFactory(groups=["analyst"])
    case = Case.objects.get(pk=world.case.pk)
    Case.objects.filter(pk=case.pk).update(state=CaseState.OPEN, confirmed_by=None)
    client = client_for(world, "analyst")
    forged = {**MASS_ASSIGNMENT, "confirmed_by": other.pk, "state": CaseState.REFERRED}

    # When the analyst confirms with a body that also names a state and a confirmer
    response = client.post(
        f"/api/v1/cases/{case.pk}/transitions/confirm/",
        {"reason": "fake confirmed", **forged},
        content_type="application/json",
    )

    # Then the transition ran as asked, by the caller, to its own target state
    assert response.status_code == 200, response.content[:300]
    case.refresh_from_db()
    assert case.state == CaseState.CONFIRMED
    assert case.confirmed_by == world.users["analyst"]


def test_a_report_body_cannot_set_its_status_case_or_outcome(world):
    # Given a brand owner filing a report that also claims a status, a case and an outcome
    client = client_for(world, "brand_own")
    body = {
        "brand": world.brand.pk,
        "reason": "counterfeit",
        "explanation": "Fake hologram.",
        "notifier_name": "Desk",
        "notifier_email": "desk@brand.example",
        "good_faith": True,
        **MASS_ASSIGNMENT,
        "seller": world.seller.pk,
        "status": ReportStatus.ACTION_TAKEN,
        "case": world.case.pk,
    }

    # When it is filed
    response = client.post("/api/v1/reports/", body, content_type="application/json")

    # Then the report is new, received, in no case, with no outcome
    assert response.status_code == 201, response.content[:300]
    report = Report.objects.get(pk=response.json()["id"])
    assert report.status == ReportStatus.RECEIVED
    assert report.case_id is None
    assert report.outcome_reason == ""


def test_an_acknowledgement_body_cannot_set_status_digest_or_time(world):
    # Given the owning authority, acknowledging with forged fields
    client = client_for(world, "authority_us")
    before = Referral.objects.get(pk=world.referral.pk)
    body = {
        "authority_reference": "IPRC-1",
        **MASS_ASSIGNMENT,
        "status": ReferralStatus.RETRACTED,
        "sha256": "0" * 64,
        "packet": {"forged": True},
    }

    # When it acknowledges
    response = client.post(
        f"/api/v1/referrals/{world.referral.pk}/acknowledge/", body, content_type="application/json"
    )

    # Then only the acknowledgement took effect, now, with its reference
    assert response.status_code == 200
    after = Referral.objects.get(pk=world.referral.pk)
    assert after.status == ReferralStatus.ACKNOWLEDGED
    assert after.authority_reference == "IPRC-1"
    assert after.acknowledged_at > timezone.now() - timedelta(minutes=1)
    assert (after.sha256, after.packet_json) == (before.sha256, before.packet_json)


def test_an_appeal_decision_body_cannot_name_another_decider_or_case(world):
    # Given a reviewer deciding the appeal, claiming someone else decided, on another case
    other = UserFactory(groups=["analyst"])
    client = client_for(world, "reviewer")
    body = {
        "outcome": "denied",
        "reason": "evidence stands",
        "decided_by": other.pk,
        "case": world.other_case.pk,
    }

    # When the decision is posted
    response = client.post(
        f"/api/v1/appeals/{world.appeal.pk}/decide/", body, content_type="application/json"
    )

    # Then it is recorded as the reviewer's, on the appeal's own case
    assert response.status_code == 200, response.content[:300]
    appeal = Appeal.objects.get(pk=world.appeal.pk)
    assert appeal.decided_by == world.users["reviewer"]
    assert appeal.case_id == world.case.pk
    assert Case.objects.get(pk=world.other_case.pk).state == CaseState.ACCOUNT_CLOSED


def test_a_new_brand_from_the_portal_is_never_verified_by_its_own_form(world):
    # Given a brand owner registering a brand and ticking every protected field
    client = client_for(world, "brand_own")

    # When the form is posted
    client.post(
        "/portal/brands/new/",
        {"name": "Self-verified brand", "verified": "on", "trusted_flagger": "on"},
    )

    # Then the brand exists (or the form refused it) but is not verified
    brand = Brand.objects.filter(name="Self-verified brand").first()
    assert brand is None or not brand.verified


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_api_object_can_be_replaced_edited_or_deleted(world, method):
    # Given every API detail route, and an analyst (the widest API role) and the authority
    detail_routes = [r for r in all_routes() if r.name.endswith("-detail")]
    paths = {
        "api-appeal-detail": f"/api/v1/appeals/{world.appeal.pk}/",
        "api-case-detail": f"/api/v1/cases/{world.case.pk}/",
        "api-report-detail": f"/api/v1/reports/{world.report.pk}/",
        "api-seller-detail": f"/api/v1/sellers/{world.seller.pk}/",
        "referral-detail": f"/api/v1/referrals/{world.referral.pk}/",
    }
    assert {r.name for r in detail_routes} == set(paths)
    state = Case.objects.get(pk=world.case.pk).state

    for role in ("analyst", "authority_us"):
        client = client_for(world, role)
        for path in paths.values():
            # When it tries to change the object directly
            response = getattr(client, method)(
                path, MASS_ASSIGNMENT, content_type="application/json"
            )

            # Then the verb is refused (not offered, or not for this role), and nothing changed
            assert response.status_code in (403, 404, 405), (role, method, path)
    assert Case.objects.get(pk=world.case.pk).state == state
    assert Referral.objects.get(pk=world.referral.pk).status == world.referral.status
