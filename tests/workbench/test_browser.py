"""The workbench in a real browser: headless Chromium (Debian's) driven by Playwright.

One analyst's day: sign in, filter the queue, open a case, confirm it with a reason and see the
state and timeline change; the same analyst finds no decision button on an appeal of a case they
confirmed; a reviewer denies that appeal and the case goes to referral. Screenshots of every
page land in ``var/screenshots/`` (not committed).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect, sync_playwright

from counterfeits.audit import record_event
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from referrals.services import ensure_default_authorities
from sellers.identity import refresh_identifiers
from tests.factories import (
    PASSWORD,
    AppealEvidenceFactory,
    ReportFactory,
    SellerFactory,
    confirmable_case,
)
from tests.helpers import wait_for
from tests.workbench.builders import appealed_case, listed_case

# A real Celery worker runs what the services queue (closure, referral, delivery), as in production.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
SCRIPT = '<script>alert("xss")</script>'


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        # expect() has its own 5 s default: on two loaded cores a worker's closure can take longer
        expect.set_options(timeout=15_000)
        page = context.new_page()
        dialogs: list[str] = []
        # A script smuggled into a report or appeal would open an alert: record it, fail later.
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.dialogs = dialogs
        yield page
        context.close()
        browser.close()


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".usermenu__name")).to_have_text(username)


def sign_out(page: Page) -> None:
    page.click("text=Sign out")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_analyst_confirms_a_case_and_reviewer_denies_the_appeal(
    live_server, browser_page, live_worker, analyst, reviewer
):
    page, base = browser_page, live_server.url
    ensure_default_authorities()
    # Given: a case to confirm (with a <script> in its report), noise, and an appeal on a
    # case this analyst confirmed earlier.
    target = confirmable_case(seller=SellerFactory(name="Zebediah Quill", country="DE"))
    record_event(target, "open", from_state="", actor=analyst, reason="case opened")
    ReportFactory(seller=target.seller, brand=target.brand, case=target, explanation=SCRIPT)
    for _ in range(3):
        listed_case()
    appeal = appealed_case(
        analyst=analyst, statement=f"I bought these from the brand's distributor. {SCRIPT}"
    )
    AppealEvidenceFactory(
        appeal=appeal, original_name="distributor-invoice.pdf", content=b"%PDF-1.4 invoice"
    )

    # The analyst signs in and lands on the dashboard, chart drawn from the npm Chart.js.
    page.goto(f"{base}/accounts/login/")
    shot(page, "01-login")
    sign_in(page, base, "analyst")
    expect(page.locator("#weekly-chart")).to_have_attribute("data-drawn", "true")
    shot(page, "02-dashboard")

    # Filter the queue: search by the seller's name (htmx swaps the results), then by state.
    page.click("nav.mainnav >> text=Cases")
    expect(page.locator("#case-table tbody tr")).to_have_count(5)
    page.fill("#id_q", "zebediah")
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    page.select_option("#id_state", "open")
    expect(page).to_have_url(re.compile(r"state=open"))
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    shot(page, "03-queue-filtered")

    # Open the case and confirm it with a reason.
    page.click(f"#case-table a[href='/cases/{target.pk}/']")
    expect(page.locator("#case-state")).to_have_text("Open")
    expect(page.locator(".report .quote").first).to_contain_text("<script>")
    shot(page, "04-case")
    page.click("[data-action=confirm]")
    expect(page.locator("#transition-form-box")).to_be_visible()
    page.fill("#id_reason", "Test buy: counterfeit serial numbers, 3 units sold to customers.")
    page.check("#id_confirmed")
    shot(page, "05-confirm-form")
    page.click("[data-submit=confirm]")

    # The state and the timeline change; the worker then closes the account.
    expect(page.locator("#case-state")).to_have_text(re.compile("Confirmed|Account closed"))
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("counterfeit serial numbers, 3 units sold")
    expect(timeline.locator("li[data-transition=confirm]")).to_have_count(1)
    expect(page.locator("#chain-status")).to_contain_text("chain verified")
    shot(page, "06-case-confirmed")
    assert Case.objects.get(pk=target.pk).confirmed_by_id == analyst.pk
    wait_for(
        lambda: Case.objects.get(pk=target.pk).state == CaseState.ACCOUNT_CLOSED,
        message="the worker to close the account",
    )
    page.reload()
    expect(page.locator("#case-state")).to_have_text("Account closed")
    expect(timeline.locator("li[data-transition=close_account]")).to_have_count(1)
    expect(page.locator("#chain-status")).to_contain_text("chain verified")
    shot(page, "06b-case-account-closed")

    # The same analyst opens the appeal on the case they confirmed: no decision button.
    page.goto(f"{base}/appeals/")
    expect(page.locator(f"tr[data-appeal='{appeal.pk}']")).to_be_visible()
    page.click(f"tr[data-appeal='{appeal.pk}'] a >> text=Appeal #{appeal.pk}")
    expect(page.locator("#barred-notice")).to_be_visible()
    expect(page.locator("#decision-form")).to_have_count(0)
    expect(page.locator("#appeal-statement")).to_contain_text("<script>")
    shot(page, "07-appeal-barred")
    # The seller's file is listed and downloads under its own name.
    files = page.locator("#appeal-evidence")
    expect(files).to_contain_text("distributor-invoice.pdf")
    with page.expect_download() as download:
        files.locator("a >> text=distributor-invoice.pdf").click()
    assert download.value.suggested_filename == "distributor-invoice.pdf"
    page.goto(f"{base}/cases/{appeal.case_id}/")
    expect(page.locator("[data-action=deny_appeal]")).to_have_count(0)
    expect(page.locator("[data-action=grant_appeal]")).to_have_count(0)

    # A reviewer denies the appeal: the case goes to referral.
    sign_out(page)
    sign_in(page, base, "reviewer")
    page.goto(f"{base}/appeals/")
    shot(page, "08-appeals-queue")
    page.click(f"tr[data-appeal='{appeal.pk}'] a >> text=Appeal #{appeal.pk}")
    page.check("input[name=outcome][value=denied]")
    page.fill("#id_reason", "Distributor invoice is forged; the lab report stands.")
    page.check("#id_confirmed")
    shot(page, "09-appeal-decision")
    page.click("[data-submit=decide]")
    expect(page.locator("#appeal-outcome")).to_have_text("Denied")
    expect(page.locator("#case-state")).to_have_text(re.compile("Referral pending|Referred"))
    shot(page, "10-appeal-denied")
    assert Case.objects.get(pk=appeal.case_id).state in {
        CaseState.REFERRAL_PENDING,
        CaseState.REFERRED,
    }
    assert CaseEvent.objects.filter(case_id=appeal.case_id, transition="deny_appeal").exists()

    wait_for(
        lambda: Case.objects.get(pk=appeal.case_id).state == CaseState.REFERRED,
        message="the worker to build and sign the referral packets",
    )
    page.goto(f"{base}/cases/{appeal.case_id}/")
    expect(page.locator("#case-state")).to_have_text("Referred")
    expect(page.locator("#timeline li[data-transition=refer]")).to_have_count(1)
    expect(page.locator("#referrals-title")).to_be_visible()
    expect(page.get_by_role("link", name="US-IPRC")).to_be_visible()
    shot(page, "11-case-referred")
    page.goto(f"{base}/referrals/")
    expect(page.locator("#authority-summary")).to_contain_text("US-IPRC")
    shot(page, "12-referrals")
    page.goto(f"{base}/sellers/{appeal.case.seller_id}/")
    expect(page.locator("#seller-status")).to_have_text("Closed")
    shot(page, "13-seller")

    # Narrow screen: the queue still reads (rows become cards).
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/cases/")
    expect(page.locator("#case-table tbody tr").first).to_be_visible()
    shot(page, "14-queue-narrow")

    # No script from a report or an appeal ever ran.
    assert page.dialogs == []


def test_case_and_seller_pages_draw_the_linked_sellers_network(live_server, browser_page, analyst):
    page, base = browser_page, live_server.url
    # Given: three sellers sharing a phone number, one with the case under review.
    phone = "+49 151 2345 6789"
    sellers = [SellerFactory(phone=phone, country="DE") for _ in range(3)]
    refresh_identifiers([seller.pk for seller in sellers])
    case = listed_case(seller=sellers[0])

    sign_in(page, base, "analyst")
    for path in (f"/cases/{case.pk}/", f"/sellers/{sellers[1].pk}/"):
        page.goto(f"{base}{path}")
        # The panel arrives by htmx; network.js draws one node per seller and the shared links.
        svg = page.locator("svg[data-network]")
        expect(svg).to_have_attribute("data-drawn", "1")
        expect(svg.locator("circle")).to_have_count(3)
        expect(svg.locator("line")).to_have_count(3)
        shot(page, "15-network-case" if path.startswith("/cases/") else "16-network-seller")
        # On a phone the panel's table scrolls inside its box, not the page.
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.set_viewport_size({"width": 1280, "height": 900})
