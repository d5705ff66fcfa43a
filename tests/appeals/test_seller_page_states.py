"""The seller's page says where their appeal stands, not how to file one they already filed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.services import decide_appeal, file_appeal
from counterfeits.models import Case

pytestmark = pytest.mark.django_db


def how_to_appeal(response) -> str:
    html = response.content.decode()
    return html.split('data-testid="how-to-appeal">')[1].split("</dd>")[0]


def test_before_an_appeal_the_page_says_how_and_until_when(client, closed_case, seller_link):
    text = how_to_appeal(client.get(seller_link))
    assert "You may file <strong>one</strong> appeal" in text


def test_a_pending_appeal_is_said_to_be_under_review(client, closed_case, seller_link):
    file_appeal(closed_case.pk, statement="Bought from the authorised distributor.")

    text = how_to_appeal(client.get(seller_link))

    assert "is reviewing it" in text
    assert "You may file" not in text


def test_a_granted_appeal_says_the_account_was_reinstated(
    client, closed_case, seller_link, reviewer
):
    appeal = file_appeal(closed_case.pk, statement="Bought from the authorised distributor.")
    decide_appeal(
        appeal.pk, outcome=AppealOutcome.GRANTED, actor=reviewer, reason="The invoice is genuine."
    )

    response = client.get(seller_link)

    assert b'data-testid="reinstated-notice"' in response.content
    text = how_to_appeal(response)
    assert "It was granted" in text
    assert "You may file" not in text


def test_a_denied_appeal_says_the_decision_stands(client, closed_case, seller_link, reviewer):
    appeal = file_appeal(closed_case.pk, statement="Bought from the authorised distributor.")
    decide_appeal(
        appeal.pk, outcome=AppealOutcome.DENIED, actor=reviewer, reason="The invoice is forged."
    )

    response = client.get(seller_link)

    assert b'data-testid="reinstated-notice"' not in response.content
    assert "It was denied: the decision stands" in how_to_appeal(response)


def test_after_the_window_the_page_offers_a_complaint(client, closed_case, seller_link):
    Case.objects.filter(pk=closed_case.pk).update(
        appeal_deadline=timezone.now() - timedelta(days=1)
    )

    text = how_to_appeal(client.get(seller_link))

    assert "The appeal window closed" in text
    assert "one</strong> complaint" in text
