"""The seller's pages in headless Chromium: open the signed link, appeal once, and no more;
an expired or altered link is refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals.links import make_token
from appeals.models import Appeal, AppealEvidence
from counterfeits.choices import CaseState
from counterfeits.models import Case
from tests.appeals.conftest import token_made_at
from tests.portal.support import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INVOICE = b"%PDF-1.4\n% invoice 2024-77 from the authorised distributor\n"


def test_seller_opens_the_signed_link_files_an_appeal_and_cannot_file_a_second(
    live_server, page, closed_case
):
    url = f"{live_server.url}/appeal/{make_token(closed_case)}/"
    # A second tab opened before the appeal: its form is stale once the first one is filed.
    stale = page.context.new_page()
    stale.goto(url)

    page.goto(url)
    assert f"case #{closed_case.pk}" in page.inner_text("h1")
    assert "Aurelia Chronograph (replica)" in page.inner_text("main")
    screenshot(page, "appeal-statement")

    page.fill(
        "#id_statement", "These watches came from the authorised distributor; invoice attached."
    )
    page.set_input_files(
        "#id_evidence",
        files=[{"name": "invoice.pdf", "mimeType": "application/pdf", "buffer": INVOICE}],
    )
    page.click("[data-testid=appeal-form] button[type=submit]")

    page.wait_for_selector("[data-testid=appeal-filed]")
    assert page.inner_text("[data-testid=appeal-outcome]") == "Awaiting review"
    assert page.locator("[data-testid=appeal-form]").count() == 0
    assert "invoice.pdf" in page.inner_text("[data-testid=appeal-filed]")
    screenshot(page, "appeal-filed")
    appeal = Appeal.objects.get(case=closed_case)
    assert AppealEvidence.objects.get(appeal=appeal).content_type == "application/pdf"
    assert Case.objects.get(pk=closed_case.pk).state == CaseState.APPEAL_REVIEW

    stale.fill("#id_statement", "A second appeal.")
    stale.click("[data-testid=appeal-form] button[type=submit]")
    stale.wait_for_selector("[data-testid=appeal-refused]")
    assert "An appeal was already filed" in stale.inner_text("[data-testid=appeal-refused]")
    screenshot(stale, "appeal-second-refused")
    assert Appeal.objects.filter(case=closed_case).count() == 1
    assert Appeal.objects.get(case=closed_case).statement.startswith("These watches")


def test_an_expired_or_altered_link_is_refused(live_server, page, closed_case, settings):
    expired = token_made_at(closed_case, timezone.now() - settings.COMPLAINT_WINDOW - timedelta(1))
    good = make_token(closed_case)
    altered = good[:-2] + ("xx" if not good.endswith("xx") else "yy")

    response = page.goto(f"{live_server.url}/appeal/{expired}/")
    assert response.status == 410
    assert page.inner_text("[data-testid=link-refused]") == "This link has expired"
    assert page.locator("form").count() == 0
    screenshot(page, "appeal-link-expired")

    response = page.goto(f"{live_server.url}/appeal/{altered}/")
    assert response.status == 404
    assert page.inner_text("[data-testid=link-refused]") == "This link is not valid"
    assert closed_case.seller.name not in page.inner_text("main")
    screenshot(page, "appeal-link-altered")
