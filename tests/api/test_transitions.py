"""POST /api/v1/cases/{id}/transitions/{name}/: each transition by name, refusals change nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.models import Appeal
from counterfeits.choices import TRANSITIONS, CaseState
from counterfeits.models import CaseEvent, Notice
from listings.choices import ListingStatus
from sellers.choices import SellerStatus
from sellers.models import Seller
from tests.api.conftest import SOURCES, case_in, transition_url
from tests.factories import (
    AuthorityFactory,
    CaseFactory,
    EvidenceFactory,
    ListingFactory,
    SaleFactory,
    force_state,
)

pytestmark = pytest.mark.django_db

BODY = {"reason": "checked the test buy", "statement": "I bought these from a wholesaler."}

REFUSED_CELLS = [
    (state, name)
    for state in CaseState.values
    for name in TRANSITIONS
    if state not in SOURCES[name]
]


def snapshot(case_id: int) -> dict:
    """What a refused transition must leave exactly as it was."""
    from counterfeits.models import Case

    case = Case.objects.get(pk=case_id)
    return {
        "state": case.state,
        "events": CaseEvent.objects.filter(case_id=case_id).count(),
        "appeals": list(Appeal.objects.filter(case_id=case_id).values("outcome", "decided_at")),
        "seller": Seller.objects.get(pk=case.seller_id).status,
        "notices": Notice.objects.filter(case_id=case_id).count(),
        "updated_at": case.updated_at,
    }


def test_the_refusal_matrix_covers_every_wrong_state():
    # 8 states x 9 transitions, less the 15 (state, transition) pairs the machine allows.
    assert len(REFUSED_CELLS) == 8 * 9 - 15


@pytest.mark.parametrize(("state", "name"), REFUSED_CELLS)
def test_transition_from_a_wrong_state_is_refused_with_409_and_changes_nothing(
    client_for, analyst, reviewer, state, name
):
    # Given a case in `state` meeting every other condition (and, for a decision, a pending appeal)
    decides = name in {"grant_appeal", "deny_appeal", "reinstate_after_referral"}
    case = case_in(state, confirmed_by=analyst, appeal=decides)
    before = snapshot(case.pk)

    # When a reviewer (who did not confirm it) asks for the transition
    response = client_for(reviewer).post(transition_url(case, name), BODY, format="json")

    # Then it is refused as a conflict naming the state, and nothing changed
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["state"] == state
    assert state in body["detail"]
    assert body["transition"] == name
    assert snapshot(case.pk) == before


def test_confirm_without_evidence_or_sales_is_refused_with_the_reason(client_for, analyst):
    # Given an open case with a listing but neither evidence nor any sale
    case = CaseFactory()
    case.listings.add(ListingFactory(seller=case.seller, product__brand=case.brand))
    before = snapshot(case.pk)

    # When an analyst confirms it
    response = client_for(analyst).post(transition_url(case, "confirm"), BODY, format="json")

    # Then 409 says both what is missing, and the case is still open with no new event
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert "evidence" in detail
    assert "units sold" in detail
    assert snapshot(case.pk) == before


def test_confirm_with_evidence_but_no_sales_names_only_the_sales(client_for, analyst):
    case = CaseFactory()
    case.listings.add(ListingFactory(seller=case.seller, product__brand=case.brand))
    EvidenceFactory(case=case)

    response = client_for(analyst).post(transition_url(case, "confirm"), BODY, format="json")

    assert response.status_code == 409
    assert "units sold" in response.json()["detail"]
    assert "evidence" not in response.json()["detail"]
    assert snapshot(case.pk)["state"] == CaseState.OPEN


def test_confirm_records_the_analyst_and_returns_the_case_detail(client_for, analyst):
    # Given an open case with evidence and units sold
    case = case_in(CaseState.OPEN)

    # When an analyst confirms it with a reason
    response = client_for(analyst).post(transition_url(case, "confirm"), BODY, format="json")

    # Then the case is confirmed by them, the event is on the timeline, closure is next
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.CONFIRMED
    assert data["confirmed_by"] == analyst.username
    last = data["events"][-1]
    assert last["transition"] == "confirm"
    assert (last["from_state"], last["to_state"]) == (CaseState.OPEN, CaseState.CONFIRMED)
    assert last["actor"] == analyst.username
    assert last["actor_role"] == "analyst"
    assert last["reason"] == BODY["reason"]
    assert len(last["hash"]) == 64
    assert data["allowed_transitions"] == ["close_account"]


def test_an_analyst_decision_without_a_reason_is_a_400_and_changes_nothing(client_for, analyst):
    case = case_in(CaseState.OPEN)
    before = snapshot(case.pk)

    response = client_for(analyst).post(
        transition_url(case, "dismiss"), {"reason": "   "}, format="json"
    )

    assert response.status_code == 400
    assert "reason" in response.json()
    assert snapshot(case.pk) == before


def test_filing_an_appeal_needs_a_statement(client_for, analyst):
    case = case_in(CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=5))

    response = client_for(analyst).post(
        transition_url(case, "file_appeal"), {"reason": "by phone"}, format="json"
    )

    assert response.status_code == 400
    assert "statement" in response.json()
    assert not Appeal.objects.filter(case=case).exists()


def test_an_unknown_transition_name_is_404_and_changes_nothing(client_for, analyst):
    case = case_in(CaseState.OPEN)
    before = snapshot(case.pk)

    response = client_for(analyst).post(transition_url(case, "approve"), BODY, format="json")

    assert response.status_code == 404
    assert snapshot(case.pk) == before


def test_dismiss_closes_an_open_case_and_rejects_its_reports(client_for, analyst):
    case = case_in(CaseState.OPEN)

    response = client_for(analyst).post(transition_url(case, "dismiss"), BODY, format="json")

    assert response.status_code == 200
    assert response.json()["state"] == CaseState.DISMISSED
    assert response.json()["allowed_transitions"] == []


def test_close_account_run_by_hand_closes_the_seller_and_delists(client_for, analyst):
    # Given a confirmed case whose closure task has not run
    case = case_in(CaseState.CONFIRMED, confirmed_by=analyst, appeal_deadline=None)
    listing = case.listings.get()

    # When an analyst runs close_account
    response = client_for(analyst).post(transition_url(case, "close_account"), {}, format="json")

    # Then the seller is closed, the listing delisted and the appeal window open
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.ACCOUNT_CLOSED
    assert data["appeal_deadline"] is not None
    assert data["listings"][0]["status"] == ListingStatus.DELISTED
    assert Seller.objects.get(pk=case.seller_id).status == SellerStatus.CLOSED
    listing.refresh_from_db()
    assert listing.status == ListingStatus.DELISTED


def test_expire_appeal_window_while_the_window_is_open_is_refused_with_the_deadline(
    client_for, analyst
):
    case = case_in(CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=3))
    before = snapshot(case.pk)

    response = client_for(analyst).post(
        transition_url(case, "expire_appeal_window"), {}, format="json"
    )

    assert response.status_code == 409
    assert "appeal window is open until" in response.json()["detail"]
    assert snapshot(case.pk) == before


def test_refer_during_the_window_without_safety_risk_is_refused(client_for, analyst):
    case = case_in(CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=3))
    before = snapshot(case.pk)

    response = client_for(analyst).post(transition_url(case, "refer"), BODY, format="json")

    assert response.status_code == 409
    assert "not a safety risk" in response.json()["detail"]
    assert snapshot(case.pk) == before


def test_expire_appeal_window_after_the_deadline_refers_the_case(client_for, analyst):
    case = case_in(CaseState.ACCOUNT_CLOSED)

    response = client_for(analyst).post(
        transition_url(case, "expire_appeal_window"), {}, format="json"
    )

    assert response.status_code == 200, response.content
    transitions = [event["transition"] for event in response.json()["events"]]
    assert transitions[-2:] == ["expire_appeal_window", "refer"]
    assert response.json()["state"] == CaseState.REFERRED


def test_an_analyst_files_an_appeal_on_the_sellers_behalf(client_for, analyst):
    case = case_in(CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=5))

    response = client_for(analyst).post(transition_url(case, "file_appeal"), BODY, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.APPEAL_REVIEW
    assert data["appeal"]["statement"] == BODY["statement"]
    assert data["appeal"]["outcome"] == AppealOutcome.PENDING
    assert data["events"][-1]["actor_role"] == "seller"


def test_a_second_appeal_is_refused_and_changes_nothing(client_for, analyst):
    case = case_in(CaseState.APPEAL_REVIEW, appeal=True)
    before = snapshot(case.pk)

    response = client_for(analyst).post(transition_url(case, "file_appeal"), BODY, format="json")

    assert response.status_code == 409
    assert "already filed" in response.json()["detail"]
    assert snapshot(case.pk) == before


@pytest.mark.parametrize("name", ["grant_appeal", "deny_appeal"])
def test_the_confirming_analyst_cannot_decide_the_appeal(client_for, analyst, name):
    # Given a case the analyst confirmed, with an appeal under review
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)
    before = snapshot(case.pk)

    # When that analyst tries to decide it
    response = client_for(analyst).post(transition_url(case, name), BODY, format="json")

    # Then 403, and the appeal is still pending, the case unchanged
    assert response.status_code == 403
    assert snapshot(case.pk) == before
    assert before["appeals"][0]["outcome"] == AppealOutcome.PENDING


def test_another_reviewer_denies_the_appeal_and_the_case_goes_to_referral(
    client_for, analyst, reviewer
):
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)

    response = client_for(reviewer).post(transition_url(case, "deny_appeal"), BODY, format="json")

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.REFERRAL_PENDING
    assert data["appeal"]["outcome"] == AppealOutcome.DENIED
    assert data["appeal"]["decided_by"] == reviewer.username


def test_granting_the_appeal_reinstates_the_seller(client_for, analyst, reviewer):
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)

    response = client_for(reviewer).post(transition_url(case, "grant_appeal"), BODY, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["state"] == CaseState.REINSTATED
    assert Seller.objects.get(pk=case.seller_id).status == SellerStatus.REINSTATED


def test_grant_appeal_on_a_referred_case_is_refused_in_favour_of_reinstate(
    client_for, analyst, reviewer
):
    case = case_in(CaseState.REFERRED, confirmed_by=analyst, appeal=True)
    before = snapshot(case.pk)

    response = client_for(reviewer).post(transition_url(case, "grant_appeal"), BODY, format="json")

    assert response.status_code == 409
    assert snapshot(case.pk) == before


def test_reinstate_after_referral_grants_a_late_appeal(client_for, analyst, reviewer):
    case = case_in(CaseState.REFERRED, confirmed_by=analyst, appeal=True)

    response = client_for(reviewer).post(
        transition_url(case, "reinstate_after_referral"), BODY, format="json"
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.REINSTATED
    assert data["appeal"]["outcome"] == AppealOutcome.GRANTED
    assert data["events"][-1]["transition"] == "reinstate_after_referral"


def test_deciding_without_an_appeal_is_refused(client_for, reviewer):
    case = case_in(CaseState.REFERRAL_PENDING)
    before = snapshot(case.pk)

    response = client_for(reviewer).post(transition_url(case, "deny_appeal"), BODY, format="json")

    assert response.status_code == 409
    assert "no appeal" in response.json()["detail"]
    assert snapshot(case.pk) == before


def test_a_brand_owner_may_not_run_transitions(client_for, brand_owner_user):
    case = case_in(CaseState.OPEN)
    before = snapshot(case.pk)

    response = client_for(brand_owner_user).post(
        transition_url(case, "dismiss"), BODY, format="json"
    )

    assert response.status_code == 403
    assert snapshot(case.pk) == before


def test_the_detail_lists_units_sold_per_listing(client_for, analyst):
    case = case_in(CaseState.OPEN)
    SaleFactory(listing=case.listings.get(), units=4)
    force_state(case, CaseState.OPEN)

    response = client_for(analyst).get(f"/api/v1/cases/{case.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["listings"][0]["units_sold"] == 3 + 4
    assert data["units_sold"] == 7
    assert sorted(data["allowed_transitions"]) == ["confirm", "dismiss"]
    assert len(data["evidence"]) == 1


def test_refer_builds_a_referral_per_routed_authority_and_shows_it(client_for, analyst):
    # Given a case pending referral, a US seller, and the US authority routing US cases
    from referrals.models import RoutingRule

    authority = AuthorityFactory()
    RoutingRule.objects.create(authority=authority, countries=["US"])
    case = case_in(CaseState.REFERRAL_PENDING)

    # When an analyst refers it
    response = client_for(analyst).post(transition_url(case, "refer"), BODY, format="json")

    # Then the case is referred and its referral to US-IPRC is listed, delivered: a pull-only
    # authority can fetch it as soon as the transaction commits
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == CaseState.REFERRED
    assert [(r["authority"], r["status"]) for r in data["referrals"]] == [("US-IPRC", "delivered")]
    assert data["events"][-1]["transition"] == "refer"
