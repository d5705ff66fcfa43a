"""Filing an appeal at the edges of the appeal window: the window is open until
``appeal_deadline`` (exclusive), as the sweep and the seller's page count it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.services import file_appeal
from counterfeits.choices import CaseState, NoticeKind
from counterfeits.models import Case, CaseEvent, Notice
from referrals.models import Referral
from referrals.services import ensure_default_authorities
from tests.factories import SaleFactory, force_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_case(closed_case):
    """``closed_case`` with a sale to a US customer (so a referral is routed to US-IPRC)."""
    ensure_default_authorities()
    SaleFactory(listing=closed_case.listings.get(), units=2, customer_country="US")
    return closed_case


def at(monkeypatch, moment) -> None:
    """Make ``timezone.now()`` answer ``moment`` for the rest of the test."""
    monkeypatch.setattr(timezone, "now", lambda: moment)


def transitions(case_id: int) -> list[str]:
    return list(
        CaseEvent.objects.filter(case_id=case_id)
        .order_by("seq")
        .values_list("transition", flat=True)
    )


def test_an_appeal_a_microsecond_before_the_deadline_opens_review(monkeypatch, due_case):
    deadline = timezone.now() + timedelta(days=1)
    case = force_state(due_case, CaseState.ACCOUNT_CLOSED, appeal_deadline=deadline)
    at(monkeypatch, deadline - timedelta(microseconds=1))

    appeal = file_appeal(case.pk, statement="Invoices attached.")

    assert not appeal.late
    assert Case.objects.get(pk=case.pk).state == CaseState.APPEAL_REVIEW
    assert not Referral.objects.filter(case=case).exists()


def test_an_appeal_filed_exactly_at_the_deadline_is_late_and_the_case_is_referred(
    monkeypatch, due_case
):
    # Given a case whose window closes at `deadline`: from that instant the sweep refers it
    deadline = timezone.now() + timedelta(days=1)
    case = force_state(due_case, CaseState.ACCOUNT_CLOSED, appeal_deadline=deadline)
    at(monkeypatch, deadline)
    assert case.window_expired()

    # When the seller files at that very instant, before the sweep came round
    appeal = file_appeal(case.pk, statement="Invoices attached.")

    # Then it is a late complaint, reviewed alongside the referral, which goes out as it would
    # have had the sweep run a moment earlier
    assert appeal.late
    assert Case.objects.get(pk=case.pk).state == CaseState.REFERRED
    assert list(Referral.objects.filter(case=case).values_list("authority__code", flat=True)) == [
        "US-IPRC"
    ]
    assert transitions(case.pk) == ["expire_appeal_window", "refer", "file_appeal"]


def test_a_complaint_filed_after_the_deadline_before_the_sweep_does_not_hold_back_the_referral(
    due_case,
):
    # Given a case whose window closed a microsecond ago and that no sweep has taken yet
    case = force_state(
        due_case,
        CaseState.ACCOUNT_CLOSED,
        appeal_deadline=timezone.now() - timedelta(microseconds=1),
    )

    # When the seller files a complaint
    appeal = file_appeal(case.pk, statement="I only now saw the notice.")

    # Then the case is referred all the same and the complaint waits for review beside it
    assert appeal.late
    assert appeal.outcome == "pending"
    assert Case.objects.get(pk=case.pk).state == CaseState.REFERRED
    assert Referral.objects.filter(case=case).count() == 1
    assert transitions(case.pk) == ["expire_appeal_window", "refer", "file_appeal"]


def test_granting_one_case_keeps_the_account_closed_by_another_case_of_the_seller(
    analyst, reviewer, client
):
    from appeals.services import decide_appeal
    from counterfeits.services import close_account
    from listings.choices import ListingStatus
    from listings.models import Listing
    from sellers.choices import SellerStatus
    from sellers.models import Seller
    from tests.factories import CaseFactory, ListingFactory, SellerFactory

    # Given one seller closed by two cases, of two brands: the first delisted every listing
    seller = SellerFactory()
    first, second = CaseFactory(seller=seller), CaseFactory(seller=seller)
    for case in (first, second):
        case.listings.add(ListingFactory(seller=seller, product__brand=case.brand))
        force_state(case, CaseState.CONFIRMED, confirmed_by=analyst)
        close_account(case.pk)
    assert not Listing.objects.filter(seller=seller, status=ListingStatus.ACTIVE).exists()

    # When the appeal on the first case is granted
    appeal = file_appeal(first.pk, statement="The watches are genuine.")
    decide_appeal(appeal.pk, outcome="granted", actor=reviewer, reason="invoices genuine")

    # Then the second case still holds the account closed, its listings delisted
    assert Case.objects.get(pk=first.pk).state == CaseState.REINSTATED
    assert Seller.objects.get(pk=seller.pk).status == SellerStatus.CLOSED
    second_listing = second.listings.get()
    assert Listing.objects.get(pk=second_listing.pk).status == ListingStatus.DELISTED
    # and the first case's page tells the seller so, not that the account was reinstated
    from appeals.links import make_token

    page = client.get(f"/appeal/{make_token(first)}/").content.decode()
    assert f"stays closed under case #{second.pk}" in page
    assert "account was reinstated" not in page
    assert "account reinstated" not in page

    # and once the second case is decided for the seller too, everything is restored
    appeal = file_appeal(second.pk, statement="These too.")
    decide_appeal(appeal.pk, outcome="granted", actor=reviewer, reason="invoices genuine")
    assert Seller.objects.get(pk=seller.pk).status == SellerStatus.REINSTATED
    assert not Listing.objects.filter(seller=seller, status=ListingStatus.DELISTED).exists()
    # (the seller was told, at the first grant, that the other case keeps the account closed)
    first_outcome = Notice.objects.get(case=first, kind=NoticeKind.APPEAL_OUTCOME)
    assert f"Your account stays closed under case #{second.pk}" in first_outcome.body
    assert f"stays closed under case #{second.pk}" in first_outcome.html_body
    assert (
        "account is reinstated"
        in Notice.objects.get(case=second, kind=NoticeKind.APPEAL_OUTCOME).body
    )


@pytest.mark.parametrize("outcome", ["granted", "denied"])
def test_the_outcome_of_a_late_complaint_calls_it_a_complaint_throughout(
    due_case, reviewer, outcome
):
    from appeals.services import decide_appeal

    # Given a complaint filed after the appeal window closed (DSA Art. 20), the case referred
    case = force_state(
        due_case,
        CaseState.ACCOUNT_CLOSED,
        appeal_deadline=timezone.now() - timedelta(microseconds=1),
    )
    appeal = file_appeal(case.pk, statement="I only now saw the notice.")
    assert appeal.late

    # When it is decided
    decide_appeal(appeal.pk, outcome=outcome, actor=reviewer, reason="reviewed")

    # Then the seller's notice calls it a complaint, in the subject, the text and the HTML
    notice = Notice.objects.get(case=case, kind=NoticeKind.APPEAL_OUTCOME)
    assert notice.subject == f"Decision on your complaint (case #{case.pk})"
    assert f"Your complaint was {outcome}" in notice.body
    assert f"Your complaint was {outcome}" in notice.html_body
    for text in (notice.subject, notice.body, notice.html_body):
        assert "your appeal" not in text.lower()
