"""The portal in headless Chromium: a brand owner files a report with a photo and follows it."""

import pytest

from counterfeits.choices import ReportStatus
from counterfeits.models import Evidence, Report
from counterfeits.services import open_case
from tests.factories import PASSWORD
from tests.portal.support import PNG_BYTES, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_brand_owner_files_a_report_with_a_photo_and_sees_the_case_opened(
    live_server, page, owner, brand, listing, analyst
):
    # Given a brand owner signed in to the portal
    page.goto(f"{live_server.url}/portal/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")
    screenshot(page, "portal-dashboard")

    # When they search for the listing, tick it, and file a report with a photo
    page.click("text=File a report")
    page.fill("#id_q", "Chronograph")
    page.click("form[role=search] button[type=submit]")
    page.check(f"#listing-{listing.pk}")
    page.select_option("#id_reason", "counterfeit")
    page.fill("#id_explanation", "Test buy #118: the caseback engraving and serial are fake.")
    page.set_input_files(
        "#id_evidence",
        files=[{"name": "fake-next-to-genuine.png", "mimeType": "image/png", "buffer": PNG_BYTES}],
    )
    page.fill("#id_notifier_name", "Ada Owner")
    page.fill("#id_notifier_email", "ada@aurelia.example")
    page.check("#id_good_faith")
    screenshot(page, "portal-report-form")
    page.click("[data-testid=report-form] button[type=submit]")

    # Then the report is received, with its evidence
    page.wait_for_selector("[data-testid=report-status] [data-status=received]")
    report = Report.objects.get()
    assert report.brand == brand
    assert Evidence.objects.get(report=report).content_type == "image/png"
    assert "fake-next-to-genuine.png" in page.inner_text("[data-testid=evidence-list]")
    screenshot(page, "portal-report-received")

    # When an analyst opens a case from it, the brand owner sees "Case opened"
    open_case(report_ids=[report.pk], actor=analyst, reason="Test buy confirms the fake.")
    page.reload()
    page.wait_for_selector("[data-testid=report-status] [data-status=case_opened]")
    assert "Case opened" in page.inner_text("[data-testid=report-status]")
    assert Report.objects.get().status == ReportStatus.CASE_OPENED
    page.goto(f"{live_server.url}/portal/reports/")
    assert "Case opened" in page.inner_text(f"tr[data-report='{report.pk}']")
    screenshot(page, "portal-report-case-opened")


def test_the_report_form_fits_a_phone_screen_with_search_results(
    live_server, page, owner, brand, listing
):
    # Given search results whose seller and listing id are long
    listing.external_id = "marketplace-listing-id-that-is-rather-long-0001"
    listing.save(update_fields=["external_id"])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")

    page.goto(f"{live_server.url}/portal/reports/new/?q=Chronograph")

    # Then the table scrolls inside its box and the page itself does not scroll sideways
    page.locator(f"#listing-{listing.pk}").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "portal-report-form-narrow")
