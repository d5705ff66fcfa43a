"""The workbench pages: who may open them, what they cost, and that they drive the services."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.models import Appeal
from counterfeits.audit import record_event
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent, Evidence
from referrals.choices import ReferralStatus
from referrals.models import Referral
from sellers.models import SellerStatusChange
from tests.factories import (
    PASSWORD,
    AppealEvidenceFactory,
    AuthorityFactory,
    BrandFactory,
    CaseFactory,
    EvidenceFactory,
    ListingFactory,
    ReportFactory,
    SaleFactory,
    SellerFactory,
    UserFactory,
    confirmable_case,
    force_state,
)
from tests.workbench.builders import (
    access_for,
    analyst_reads_for,
    appealed_case,
    attempts_for,
    closed_case,
    listed_case,
    referral_for,
    referred_case,
    ring_case,
)

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("xss")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"


def page_urls(analyst) -> list[str]:
    """One URL of every workbench page, with real objects behind them."""
    appeal = appealed_case(analyst=analyst)
    case = appeal.case
    referral = referral_for(case)
    evidence = Evidence.objects.filter(case=case).first()
    appeal_file = AppealEvidenceFactory(appeal=appeal)
    return [
        reverse("workbench:dashboard"),
        reverse("workbench:queue"),
        reverse("workbench:case", args=[case.pk]),
        reverse("workbench:case-transition", args=[case.pk, "deny_appeal"]),
        reverse("workbench:evidence-file", args=[evidence.pk]),
        reverse("workbench:seller", args=[case.seller_id]),
        reverse("workbench:appeals"),
        reverse("workbench:appeal", args=[appeal.pk]),
        reverse("workbench:appeal-evidence-file", args=[appeal.pk, appeal_file.pk]),
        reverse("workbench:referrals"),
        reverse("workbench:referral", args=[referral.pk]),
    ]


# --- who may open the pages ------------------------------------------------------------------


def test_every_page_sends_an_anonymous_visitor_to_the_login_page(client, analyst):
    for url in page_urls(analyst):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next="), url


def test_a_brand_owner_cannot_open_any_analyst_page(brand_client, analyst):
    for url in page_urls(analyst):
        response = brand_client.get(url)
        assert response.status_code == 403, url
        assert b"no analyst or reviewer role" in response.content


def test_state_changing_posts_refuse_anonymous_and_brand_owners(client, brand_client, analyst):
    case = closed_case(analyst=analyst)
    referral = referral_for(case, status=ReferralStatus.FAILED)
    posts = [
        (reverse("workbench:case-assign", args=[case.pk]), {}),
        (reverse("workbench:referral-retry", args=[referral.pk]), {}),
        (
            reverse("workbench:case-transition", args=[case.pk, "dismiss"]),
            {"reason": "not a fake at all", "confirmed": "on"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 302
        assert brand_client.post(url, data).status_code == 403
    case.refresh_from_db()
    referral.refresh_from_db()
    assert (case.state, case.assignee_id) == (CaseState.ACCOUNT_CLOSED, None)
    assert referral.status == ReferralStatus.FAILED


def test_reviewer_and_admin_may_open_the_workbench(reviewer_client, admin_user):
    admin = Client()
    admin.force_login(admin_user)
    assert reviewer_client.get(reverse("workbench:queue")).status_code == 200
    assert admin.get(reverse("workbench:dashboard")).status_code == 200


# --- query counts: the same for 1 row and 50 ------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def build_queue(n, analyst):
    for i in range(n):
        case = listed_case(assignee=analyst if i % 2 else None)
        ListingFactory(seller=case.seller).cases.add(case)
    return reverse("workbench:queue") + "?sort=deadline&q=Seller"


def build_dashboard(n, analyst):
    soon = timezone.now() + timedelta(days=2)
    for _ in range(n):
        force_state(listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=soon)
        referral_for(referred_case(), AuthorityFactory(code="US-IPRC"))
    return reverse("workbench:dashboard")


def build_case_page(n, analyst):
    case = CaseFactory()
    for _ in range(n):
        listing = ListingFactory(seller=case.seller, product__brand=case.brand)
        case.listings.add(listing)
        SaleFactory(listing=listing)
        report = ReportFactory(seller=case.seller, brand=case.brand, case=case)
        EvidenceFactory(report=report)
        EvidenceFactory(case=case, content_type="image/png")
    appeal = Appeal.objects.create(case=case, statement="genuine goods")
    AppealEvidenceFactory.create_batch(n, appeal=appeal)
    return reverse("workbench:case", args=[case.pk])


def build_case_history(n, analyst):
    """A case with n events (a long timeline) and n referrals to n authorities."""
    case = listed_case()
    for i in range(n - 1):
        record_event(case, "open", from_state="", actor=analyst, reason=f"note {i}")
        referral_for(case, AuthorityFactory(code=f"A-{i}"))
    return reverse("workbench:case", args=[case.pk])


def build_seller_page(n, analyst):
    seller = SellerFactory()
    for _ in range(n):
        listing = ListingFactory(seller=seller)
        SaleFactory(listing=listing)
        CaseFactory(seller=seller, assignee=analyst)
        SellerStatusChange.objects.create(
            seller=seller, from_status="active", to_status="closed", at=timezone.now()
        )
    return reverse("workbench:seller", args=[seller.pk])


def build_appeals(n, analyst):
    for _ in range(n):
        case = force_state(listed_case(), CaseState.APPEAL_REVIEW, confirmed_by=analyst)
        appeal = Appeal.objects.create(case=case, statement="genuine goods")
        AppealEvidenceFactory.create_batch(2, appeal=appeal)
    return reverse("workbench:appeals")


def build_appeal_page(n, analyst):
    case = force_state(listed_case(), CaseState.APPEAL_REVIEW, confirmed_by=analyst)
    for _ in range(n):
        report = ReportFactory(seller=case.seller, brand=case.brand, case=case)
        EvidenceFactory(report=report)
    appeal = Appeal.objects.create(case=case, statement="genuine goods")
    AppealEvidenceFactory.create_batch(n, appeal=appeal)
    return reverse("workbench:appeal", args=[appeal.pk])


def build_referrals(n, analyst):
    for i in range(n):
        referral = referral_for(
            referred_case(), status=ReferralStatus.FAILED if i % 2 else ReferralStatus.DELIVERED
        )
        attempts_for(referral, 2)
    return reverse("workbench:referrals")


def build_ring_review(n, analyst):
    """A confirmed case whose seller is linked to n sellers with cases, one closed for fakes."""
    return reverse("workbench:case", args=[ring_case(n, closed=1).pk])


def build_referral_page(n, analyst):
    referral = referral_for(referred_case())
    attempts_for(referral, n)
    access_for(referral, n)
    analyst_reads_for(referral, n, analyst)
    return reverse("workbench:referral", args=[referral.pk])


@pytest.mark.parametrize(
    "build",
    [
        build_queue,
        build_dashboard,
        build_case_page,
        build_case_history,
        build_seller_page,
        build_appeals,
        build_appeal_page,
        build_referrals,
        build_referral_page,
        build_ring_review,
    ],
)
def test_page_query_count_is_the_same_for_1_and_50_rows(build, analyst, analyst_client):
    one = count_queries(analyst_client, build(1, analyst))
    fifty = count_queries(analyst_client, build(50, analyst))
    assert one == fifty, (one, fifty)


# --- the queue -------------------------------------------------------------------------------


def case_ids(response) -> list[int]:
    return [case.pk for case in response.context["page"].rows]


def test_queue_filters_by_state_brand_country_and_assignee(analyst_client, analyst):
    brand = BrandFactory(name="Acme")
    wanted = listed_case(brand=brand, seller=SellerFactory(country="DE"), assignee=analyst)
    listed_case(brand=brand, seller=SellerFactory(country="US"), assignee=analyst)
    listed_case(seller=SellerFactory(country="DE"))
    force_state(listed_case(brand=brand, seller=SellerFactory(country="DE")), "dismissed")

    response = analyst_client.get(
        reverse("workbench:queue"),
        {"state": "open", "brand": brand.pk, "country": "de", "assignee": analyst.pk},
    )

    assert case_ids(response) == [wanted.pk]


def test_queue_treats_the_forms_empty_choices_as_no_filter(analyst_client):
    case = listed_case(seller=SellerFactory(name="Zebediah Quill"))
    listed_case()
    params = {"q": "zebediah", "state": "", "brand": "", "country": "", "assignee": ""}
    response = analyst_client.get(reverse("workbench:queue"), params)
    assert case_ids(response) == [case.pk]


def test_queue_mine_and_deadline_within_48_hours(analyst_client, analyst):
    mine = listed_case(assignee=analyst)
    listed_case(assignee=UserFactory(groups=["analyst"]))
    soon = force_state(
        listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(hours=5)
    )
    force_state(
        listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=9)
    )

    assert case_ids(analyst_client.get(reverse("workbench:queue"), {"mine": "on"})) == [mine.pk]
    due = analyst_client.get(reverse("workbench:queue"), {"due_soon": "on"})
    assert case_ids(due) == [soon.pk]


def test_queue_search_finds_seller_name_company_email_and_listing_title(analyst_client):
    by_name = listed_case(seller=SellerFactory(name="Zebediah Quill"))
    by_company = listed_case(seller=SellerFactory(company_name="Shenzhen Glowtrade Ltd"))
    by_email = listed_case(seller=SellerFactory(email="sneaky@fakes.example"))
    by_title = listed_case()
    ListingFactory(seller=by_title.seller, title="Genuine Rolexx Submariner").cases.add(by_title)
    listed_case()

    def search(q):
        return case_ids(analyst_client.get(reverse("workbench:queue"), {"q": q}))

    assert search("zebediah") == [by_name.pk]
    assert search("GLOWTRADE") == [by_company.pk]
    assert search("sneaky@") == [by_email.pk]
    assert search("rolexx") == [by_title.pk]
    assert search(f"#{by_title.pk}") == [by_title.pk]


def test_queue_pages_with_a_cursor_and_never_repeats_a_case(analyst_client):
    made = [listed_case().pk for _ in range(120)]
    seen, url, params = [], reverse("workbench:queue"), {"sort": "oldest"}
    while True:
        response = analyst_client.get(url, params)
        seen += case_ids(response)
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
        params = {"sort": "oldest", "after": cursor}
    assert seen == sorted(made)

    back = analyst_client.get(
        url, {"sort": "oldest", "before": response.context["page"].prev_cursor}
    )
    assert case_ids(back) == sorted(made)[50:100]


def test_queue_sorts_by_next_deadline_with_no_deadline_last(analyst_client):
    later = force_state(
        listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=9)
    )
    sooner = force_state(
        listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=1)
    )
    none = listed_case()
    response = analyst_client.get(reverse("workbench:queue"), {"sort": "deadline"})
    assert case_ids(response) == [sooner.pk, later.pk, none.pk]


def test_queue_counts_cases_per_state_under_the_other_filters(analyst_client):
    brand = BrandFactory()
    listed_case(brand=brand)
    listed_case(brand=brand)
    force_state(listed_case(brand=brand), CaseState.DISMISSED)
    listed_case()

    response = analyst_client.get(reverse("workbench:queue"), {"brand": brand.pk, "state": "open"})

    counts = {tab["value"]: tab["count"] for tab in response.context["state_tabs"]}
    assert counts["open"] == 2
    assert counts["dismissed"] == 1
    assert response.context["all_count"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {"after": "!!not-a-cursor"},
        {"before": "eyJ4IjoxfQ"},
        {"sort": "deadline", "after": "WyJub3QgYSBkYXRlIiwxXQ"},
        {"brand": "not-a-number"},
        {"assignee": "999999999999999999999"},
        {"seller": "-3"},
    ],
)
def test_queue_never_fails_on_odd_input(analyst_client, params):
    listed_case()
    response = analyst_client.get(reverse("workbench:queue"), params)
    assert response.status_code == 200


def test_a_nul_byte_in_the_search_is_a_clear_400(analyst_client):
    listed_case()
    response = analyst_client.get(reverse("workbench:queue"), {"q": "\x00"})
    assert response.status_code == 400


def test_htmx_filter_request_gets_only_the_results_fragment(analyst_client):
    listed_case()
    response = analyst_client.get(reverse("workbench:queue"), HTTP_HX_REQUEST="true")
    assert b'id="case-table"' in response.content
    assert b"<html" not in response.content


def test_assign_to_me_with_htmx_returns_the_updated_cell(analyst_client, analyst):
    case = listed_case()
    response = analyst_client.post(
        reverse("workbench:case-assign", args=[case.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert f'id="assignee-{case.pk}"'.encode() in response.content
    assert b"analyst" in response.content
    assert Case.objects.get(pk=case.pk).assignee == analyst


def test_assign_to_me_without_javascript_redirects_back(analyst_client, analyst):
    case = listed_case()
    response = analyst_client.post(
        reverse("workbench:case-assign", args=[case.pk]), {"next": "/cases/?state=open"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/cases/?state=open"
    assert Case.objects.get(pk=case.pk).assignee == analyst


def test_assign_ignores_a_next_url_on_another_site(analyst_client):
    case = listed_case()
    response = analyst_client.post(
        reverse("workbench:case-assign", args=[case.pk]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("workbench:case", args=[case.pk])


@pytest.mark.parametrize("target", ["0", "queue", "%", "-1"])
def test_assign_with_a_next_that_is_no_url_still_redirects_to_a_url(
    analyst_client, analyst, target
):
    # A bare word is a relative URL, not the name of a view to look up.
    case = listed_case()
    response = analyst_client.post(
        reverse("workbench:case-assign", args=[case.pk]), {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == target
    assert Case.objects.get(pk=case.pk).assignee == analyst


@pytest.mark.parametrize("params", [{"q": "#²"}, {"q": "²"}, {"seller": "²"}, {"seller": "٣"}])
def test_queue_takes_digits_that_are_not_ascii_as_plain_text(analyst_client, params):
    listed_case()
    response = analyst_client.get(reverse("workbench:queue"), params)
    assert response.status_code == 200
    assert response.context["seller_filter"] is None


@pytest.mark.parametrize("listing", ["²", "٣", "9" * 30])
def test_adding_a_listing_id_that_is_not_a_plain_number_is_a_field_error(analyst_client, listing):
    case = listed_case()
    response = analyst_client.post(
        reverse("workbench:case-listings", args=[case.pk]), {"listing": listing}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["listing"]
    assert not Case.objects.get(pk=case.pk).listings.exists()


# --- transitions through the UI --------------------------------------------------------------


def test_confirming_through_the_ui_runs_the_service_and_records_the_reason(analyst_client, analyst):
    case = confirmable_case()
    url = reverse("workbench:case-transition", args=[case.pk, "confirm"])

    form = analyst_client.get(url)
    response = analyst_client.post(url, {"reason": "Test buy shows a fake.", "confirmed": "on"})

    assert b"I have reviewed the case" in form.content
    assert response.status_code == 302
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.CONFIRMED
    assert case.confirmed_by == analyst
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (event.transition, event.reason, event.actor) == (
        "confirm",
        "Test buy shows a fake.",
        analyst,
    )
    page = analyst_client.get(response["Location"])
    assert b"Test buy shows a fake." in page.content
    assert b"Confirmed" in page.content


def test_a_refused_confirmation_is_explained_and_changes_nothing(analyst_client):
    case = listed_case()  # no evidence, no sales
    url = reverse("workbench:case-transition", args=[case.pk, "confirm"])

    response = analyst_client.post(url, {"reason": "Looks fake to me.", "confirmed": "on"})

    assert response.status_code == 409
    assert b"This action was refused" in response.content
    assert b"at least one piece of evidence" in response.content
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.OPEN
    assert case.confirmed_by is None
    assert CaseEvent.objects.filter(case=case).count() == 1


def test_a_transition_not_allowed_in_this_state_is_refused_with_409(analyst_client, analyst):
    case = closed_case(analyst=analyst)
    events = CaseEvent.objects.filter(case=case).count()
    url = reverse("workbench:case-transition", args=[case.pk, "dismiss"])

    response = analyst_client.post(url, {"reason": "changed my mind", "confirmed": "on"})

    assert response.status_code == 409
    assert b"not allowed while the case is account_closed" in response.content
    assert Case.objects.get(pk=case.pk).state == CaseState.ACCOUNT_CLOSED
    assert CaseEvent.objects.filter(case=case).count() == events


def test_a_transition_needs_a_reason_and_the_confirmation_tick(analyst_client):
    case = confirmable_case()
    url = reverse("workbench:case-transition", args=[case.pk, "confirm"])

    response = analyst_client.post(url, {"reason": ""})

    assert response.status_code == 400
    assert b"Tick the box to confirm." in response.content
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN


def test_htmx_transition_success_redirects_the_browser_to_the_case(analyst_client):
    case = confirmable_case()
    response = analyst_client.post(
        reverse("workbench:case-transition", args=[case.pk, "dismiss"]),
        {"reason": "Genuine stock, invoices checked.", "confirmed": "on"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("workbench:case", args=[case.pk])
    assert Case.objects.get(pk=case.pk).state == CaseState.DISMISSED


def test_an_unknown_transition_is_404(analyst_client):
    case = listed_case()
    url = reverse("workbench:case-transition", args=[case.pk, "close_account"])
    assert analyst_client.get(url).status_code == 404


def test_the_case_page_shows_only_the_transitions_allowed_now(analyst_client):
    case = confirmable_case()
    content = analyst_client.get(reverse("workbench:case", args=[case.pk])).content.decode()
    assert 'data-action="confirm"' in content
    assert 'data-action="dismiss"' in content
    assert 'data-action="deny_appeal"' not in content


# --- appeals: the confirming analyst may not decide ------------------------------------------


def test_the_confirming_analyst_sees_no_decision_button(analyst_client, analyst):
    appeal = appealed_case(analyst=analyst)

    case_page = analyst_client.get(reverse("workbench:case", args=[appeal.case_id])).content
    appeal_page = analyst_client.get(reverse("workbench:appeal", args=[appeal.pk])).content

    assert b'data-action="deny_appeal"' not in case_page
    assert b'data-action="grant_appeal"' not in case_page
    assert b'id="barred-notice"' in case_page
    assert b'id="decision-form"' not in appeal_page
    assert b'id="barred-notice"' in appeal_page


def test_a_forged_decision_by_the_confirming_analyst_is_refused(analyst_client, analyst):
    appeal = appealed_case(analyst=analyst)
    events = CaseEvent.objects.filter(case=appeal.case).count()

    on_appeal = analyst_client.post(
        reverse("workbench:appeal", args=[appeal.pk]),
        {"outcome": "denied", "reason": "I stand by it", "confirmed": "on"},
    )
    on_case = analyst_client.post(
        reverse("workbench:case-transition", args=[appeal.case_id, "grant_appeal"]),
        {"reason": "I stand by it", "confirmed": "on"},
    )

    for response in (on_appeal, on_case):
        assert response.status_code == 403
        assert b"cannot decide its appeal" in response.content
    appeal.refresh_from_db()
    assert appeal.outcome == AppealOutcome.PENDING
    assert Case.objects.get(pk=appeal.case_id).state == CaseState.APPEAL_REVIEW
    assert CaseEvent.objects.filter(case=appeal.case).count() == events


def test_another_reviewer_denies_the_appeal_and_the_case_goes_to_referral(
    reviewer_client, analyst, reviewer
):
    appeal = appealed_case(analyst=analyst)
    page = reviewer_client.get(reverse("workbench:appeal", args=[appeal.pk]))
    assert b'id="decision-form"' in page.content

    response = reviewer_client.post(
        reverse("workbench:appeal", args=[appeal.pk]),
        {"outcome": "denied", "reason": "Lab report is conclusive.", "confirmed": "on"},
    )

    assert response.status_code == 302
    appeal.refresh_from_db()
    assert (appeal.outcome, appeal.decided_by) == (AppealOutcome.DENIED, reviewer)
    assert Case.objects.get(pk=appeal.case_id).state == CaseState.REFERRAL_PENDING


def test_deciding_an_already_decided_appeal_is_refused(reviewer_client, analyst, reviewer):
    appeal = appealed_case(analyst=analyst)
    url = reverse("workbench:appeal", args=[appeal.pk])
    data = {"outcome": "denied", "reason": "Lab report is conclusive.", "confirmed": "on"}
    reviewer_client.post(url, data)

    again = reviewer_client.post(url, {**data, "outcome": "granted"})

    assert again.status_code == 409
    assert b"already decided" in again.content
    assert Appeal.objects.get(pk=appeal.pk).outcome == AppealOutcome.DENIED


@pytest.mark.parametrize(
    ("state", "name"),
    [
        # A grant page opened before the referral went out, submitted after it: the reviewer
        # asked for a grant, not for a retraction sent to every authority.
        (CaseState.REFERRED, "grant_appeal"),
        (CaseState.APPEAL_REVIEW, "reinstate_after_referral"),
    ],
)
def test_a_decision_the_state_machine_refuses_now_is_a_409_and_changes_nothing(
    reviewer_client, state, name
):
    case = force_state(referred_case(), state)
    appeal = Appeal.objects.create(case=case, statement="These were genuine goods.")
    events = CaseEvent.objects.filter(case=case).count()

    response = reviewer_client.post(
        reverse("workbench:case-transition", args=[case.pk, name]),
        {"reason": "The invoices check out.", "confirmed": "on"},
    )

    assert response.status_code == 409
    assert b"Refused" in response.content
    assert Case.objects.get(pk=case.pk).state == state
    assert Appeal.objects.get(pk=appeal.pk).outcome == AppealOutcome.PENDING
    assert CaseEvent.objects.filter(case=case).count() == events
    assert not Referral.objects.filter(case=case, status=ReferralStatus.RETRACTED).exists()


# --- escaping --------------------------------------------------------------------------------


def test_script_in_a_report_explanation_is_shown_as_text(analyst_client):
    case = listed_case()
    ReportFactory(seller=case.seller, brand=case.brand, case=case, explanation=SCRIPT)

    content = analyst_client.get(reverse("workbench:case", args=[case.pk])).content.decode()

    assert SCRIPT not in content
    assert ESCAPED in content


def test_script_in_an_appeal_statement_is_shown_as_text(analyst_client, analyst):
    appeal = appealed_case(analyst=analyst, statement=SCRIPT)

    for url in (
        reverse("workbench:appeal", args=[appeal.pk]),
        reverse("workbench:case", args=[appeal.case_id]),
    ):
        content = analyst_client.get(url).content.decode()
        assert SCRIPT not in content
        assert ESCAPED in content


def test_script_in_seller_fields_and_reasons_is_escaped_everywhere(analyst_client, analyst):
    seller = SellerFactory(name=SCRIPT, company_name=SCRIPT)
    case = listed_case(seller=seller)
    record_event(case, "open", from_state="", actor=analyst, reason=SCRIPT)
    for url in (
        reverse("workbench:queue"),
        reverse("workbench:case", args=[case.pk]),
        reverse("workbench:seller", args=[seller.pk]),
    ):
        content = analyst_client.get(url).content.decode()
        assert SCRIPT not in content, url


# --- evidence files --------------------------------------------------------------------------


def evidence_with_file(content_type: str, data: bytes) -> Evidence:
    evidence = EvidenceFactory(case=listed_case(), content_type=content_type, content=data)
    evidence.file.save("upload", ContentFile(data), save=True)
    return evidence


def test_image_evidence_is_served_inline_with_its_type(analyst_client):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    evidence = evidence_with_file("image/png", png)

    response = analyst_client.get(reverse("workbench:evidence-file", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "attachment" not in response.get("Content-Disposition", "")
    assert b"".join(response.streaming_content) == png


@pytest.mark.parametrize(
    ("content_type", "served_as"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("", "application/octet-stream"),
        ("application/pdf", "application/pdf"),
    ],
)
def test_other_evidence_is_a_download_never_rendered(analyst_client, content_type, served_as):
    # (served as every upload is, by serve_upload: a type we never accept goes out as bytes; a
    # PDF keeps its type but is an attachment, sandboxed, never shown in the page)
    evidence = evidence_with_file(content_type, b"<html><script>alert(1)</script></html>")

    response = analyst_client.get(reverse("workbench:evidence-file", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == served_as
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_evidence_is_downloaded_under_its_name_and_images_may_be_kept_for_thumbnails(
    analyst_client,
):
    named = evidence_with_file("application/pdf", b"%PDF-1.4 invoice")
    Evidence.objects.filter(pk=named.pk).update(original_name="test buy receipt.pdf")
    unnamed = evidence_with_file("application/pdf", b"%PDF-1.4 other")
    Evidence.objects.filter(pk=unnamed.pk).update(original_name="")

    first = analyst_client.get(reverse("workbench:evidence-file", args=[named.pk]))
    second = analyst_client.get(reverse("workbench:evidence-file", args=[unnamed.pk]))

    assert 'filename="test buy receipt.pdf"' in first["Content-Disposition"]
    assert f"evidence-{unnamed.pk}-{unnamed.sha256[:12]}" in second["Content-Disposition"]
    assert first["Cache-Control"] == "private, max-age=3600"


def test_evidence_without_a_file_is_404(analyst_client):
    evidence = EvidenceFactory(case=listed_case())
    assert (
        analyst_client.get(reverse("workbench:evidence-file", args=[evidence.pk])).status_code
        == 404
    )


def test_the_case_page_lists_the_sha256_and_shows_images_inline(analyst_client):
    evidence = evidence_with_file("image/png", b"\x89PNG\r\n\x1a\nabc")
    content = analyst_client.get(
        reverse("workbench:case", args=[evidence.case_id])
    ).content.decode()
    assert evidence.sha256 in content
    assert f'<img src="{reverse("workbench:evidence-file", args=[evidence.pk])}"' in content


# --- the case page's other parts -------------------------------------------------------------


def test_the_case_page_shows_units_sold_and_a_verified_chain(analyst_client, analyst):
    case = closed_case(analyst=analyst, units=7)
    response = analyst_client.get(reverse("workbench:case", args=[case.pk]))
    assert response.context["units_total"] == 7
    assert response.context["chain_broken"] is None
    assert b"chain verified" in response.content


def test_a_confirmed_case_lists_linked_sellers_with_cases_closed_counterfeiters_first(
    analyst_client,
):
    case = ring_case(2, closed=1)

    response = analyst_client.get(reverse("workbench:case", args=[case.pk]))

    review = response.context["ring_review"]
    assert len(review) == 3  # the linked seller with no case is not listed
    assert review[0].closed_for_counterfeits
    assert not any(member.closed_for_counterfeits for member in review[1:])
    html = response.content.decode()
    assert 'id="ring-review"' in html
    assert "closed for counterfeits" in html
    assert html.count("data-ring-seller=") == 3
    assert "Phone <code>" in html.split('id="ring-review"')[1].split("</section>")[0]


def test_the_linked_sellers_panel_names_case_states_in_words(analyst_client):
    case = ring_case(1, closed=1)

    response = analyst_client.get(
        reverse("sellers:network", args=[case.seller_id]), {"case": case.pk}
    )

    html = response.content.decode()
    assert " account closed</span>" in html
    assert "account_closed</span>" not in html


def test_an_open_case_has_no_ring_review_yet(analyst_client):
    case = ring_case(2, closed=1, state=CaseState.OPEN)

    response = analyst_client.get(reverse("workbench:case", args=[case.pk]))

    assert response.context["ring_review"] == []
    assert b'id="ring-review"' not in response.content


def test_the_case_page_flags_a_tampered_chain(analyst_client, analyst):
    case = closed_case(analyst=analyst)
    CaseEvent.objects.filter(case=case, transition="confirm").update(reason="edited later")
    response = analyst_client.get(reverse("workbench:case", args=[case.pk]))
    assert response.context["chain_broken"] is not None
    assert b"chain broken at seq" in response.content


# --- referrals -------------------------------------------------------------------------------


def test_retrying_a_failed_delivery_requeues_it(analyst_client, django_capture_on_commit_callbacks):
    referral = referral_for(referred_case(), status=ReferralStatus.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        response = analyst_client.post(reverse("workbench:referral-retry", args=[referral.pk]))
    assert response.status_code == 302
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.PENDING
    assert len(callbacks) == 1  # the delivery task, queued on commit


def test_retrying_a_referral_that_did_not_fail_is_refused_and_changes_nothing(analyst_client):
    referral = referral_for(referred_case(), status=ReferralStatus.ACKNOWLEDGED)
    response = analyst_client.post(
        reverse("workbench:referral-retry", args=[referral.pk]), follow=True
    )
    assert b"only a failed delivery or an undelivered retraction can be retried" in response.content
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.ACKNOWLEDGED


def test_a_retraction_not_delivered_is_shown_and_an_analyst_requeues_it(
    analyst_client, django_capture_on_commit_callbacks
):
    # Given a retraction whose push was given up
    referral = referral_for(referred_case(), status=ReferralStatus.RETRACTED)
    Referral.objects.filter(pk=referral.pk).update(retraction_failed_at=timezone.now())

    # Then the list (also under its own filter) and the referral page say so, with a retry
    listed = analyst_client.get(reverse("workbench:referrals"), {"status": "retraction_failed"})
    assert [row.pk for row in listed.context["page"].rows] == [referral.pk]
    assert b"retraction not delivered" in listed.content
    page = analyst_client.get(reverse("workbench:referral", args=[referral.pk]))
    assert b"Retry retraction" in page.content
    others = analyst_client.get(reverse("workbench:referrals"), {"status": "retracted"})
    assert b"Retry retraction" in others.content

    # When an analyst retries it
    with django_capture_on_commit_callbacks() as callbacks:
        response = analyst_client.post(
            reverse("workbench:referral-retry", args=[referral.pk]), follow=True
        )

    # Then it is queued again and no longer shown as parked
    assert b"retraction queued again" in response.content
    assert Referral.objects.get(pk=referral.pk).retraction_failed_at is None
    assert len(callbacks) == 1
    page = analyst_client.get(reverse("workbench:referral", args=[referral.pk]))
    assert b"Retry retraction" not in page.content


def test_retrying_with_a_next_that_is_no_url_redirects_to_it_as_a_relative_url(analyst_client):
    referral = referral_for(referred_case(), status=ReferralStatus.FAILED)
    response = analyst_client.post(
        reverse("workbench:referral-retry", args=[referral.pk]), {"next": "referrals"}
    )
    assert response.status_code == 302
    assert response["Location"] == "referrals"
    assert Referral.objects.get(pk=referral.pk).status == ReferralStatus.PENDING


def test_the_access_log_names_the_api_client_or_the_analyst_who_read_the_packet(
    analyst_client, analyst
):
    referral = referral_for(referred_case(), AuthorityFactory(code="US-IPRC"))
    access_for(referral, 1)
    reader = UserFactory(username="dana.reads", groups=["analyst"])
    analyst_reads_for(referral, 1, reader)

    response = analyst_client.get(reverse("workbench:referral", args=[referral.pk]))

    rows = response.content.decode().split('id="access-title"')[1]
    assert "US-IPRC system" in rows
    assert "US-IPRC API client" in rows
    assert "dana.reads" in rows
    assert "analyst" in rows.split("dana.reads")[1][:80]


def test_an_analyst_opens_the_packet_from_the_referral_page_and_the_read_is_logged(
    analyst_client, analyst
):
    referral = referral_for(referred_case(), AuthorityFactory(code="US-IPRC"))
    page = analyst_client.get(reverse("workbench:referral", args=[referral.pk])).content.decode()
    json_url = reverse("referral-packet-json", args=[referral.pk])
    assert f'href="{json_url}"' in page
    assert f'href="{reverse("referral-packet-pdf", args=[referral.pk])}"' in page

    assert analyst_client.get(json_url).status_code == 200

    page = analyst_client.get(reverse("workbench:referral", args=[referral.pk])).content.decode()
    access = page.split('id="access-title"')[1]
    assert analyst.get_username() in access
    assert "Read packet (JSON)" in access


def test_the_referrals_page_counts_per_authority_and_status(analyst_client):
    us, eu = AuthorityFactory(code="US-IPRC"), AuthorityFactory(code="EU-IPC3")
    referral_for(referred_case(), us, status=ReferralStatus.FAILED)
    referral_for(referred_case(), us, status=ReferralStatus.DELIVERED)
    referral_for(referred_case(), eu, status=ReferralStatus.ACKNOWLEDGED)

    response = analyst_client.get(reverse("workbench:referrals"), {"status": "failed"})

    summary = {entry["code"]: entry for entry in response.context["summary"]}
    assert summary["US-IPRC"]["failed"] == 1
    assert summary["US-IPRC"]["total"] == 2
    assert summary["EU-IPC3"]["acknowledged"] == 1
    assert [r.status for r in response.context["page"].rows] == ["failed"]
    assert b"Retry delivery" in response.content


# --- dashboard -------------------------------------------------------------------------------


def test_the_dashboard_shows_states_weekly_flow_deadlines_and_median(analyst_client):
    listed_case()
    soon = force_state(
        listed_case(), CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() + timedelta(days=3)
    )
    referral_for(referred_case(), AuthorityFactory(code="US-IPRC"))

    response = analyst_client.get(reverse("workbench:dashboard"))

    assert response.context["open_count"] == 1
    assert [c.pk for c in response.context["deadlines"]] == [soon.pk]
    assert sum(response.context["weekly"]["opened"]) == 3
    assert sum(response.context["weekly"]["referred"]) == 1
    assert response.context["median_to_referral"] >= timedelta(days=2, hours=23)
    assert response.context["per_authority"][0]["total"] == 1
    assert b'id="weekly-data" type="application/json"' in response.content
    assert b"<script>" not in response.content.replace(b"<script src=", b"")


# --- login and lockout -----------------------------------------------------------------------


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def login(client: Client, username: str, password: str, ip: str = "198.51.100.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_login_with_the_right_password_goes_to_the_dashboard(client, analyst, fresh_cache):
    response = login(client, "analyst", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_five_failed_logins_lock_the_account_from_that_address(client, analyst, fresh_cache):
    for _ in range(5):
        assert login(client, "analyst", "wrong").status_code == 200

    locked = login(client, "analyst", PASSWORD)

    assert locked.status_code == 429
    assert b"locked for 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's guesses.
    assert login(Client(), "analyst", PASSWORD, ip="203.0.113.9").status_code == 302


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_does_not_dodge_the_lockout(
    client, analyst, fresh_cache, settings
):
    # Given clients talking to the app directly, and a guesser naming a new address each time
    settings.TRUSTED_PROXIES = 0
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": "analyst", "password": "wrong"},
            REMOTE_ADDR="198.51.100.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )

    # Then the header is ignored: the guesser's own address is locked
    assert login(client, "analyst", PASSWORD).status_code == 429


def login_via_proxy(client: Client, username: str, password: str, forwarded_for: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_one_proxy_a_guesser_locks_only_its_own_address(
    client, analyst, fresh_cache, settings
):
    # Given the app behind one proxy, and a guesser failing five times through it
    settings.TRUSTED_PROXIES = 1
    for _ in range(5):
        login_via_proxy(client, "analyst", "wrong", "198.51.100.66")

    # Then the guesser is locked out, and the analyst, from another address, is not
    assert login_via_proxy(client, "analyst", PASSWORD, "198.51.100.66").status_code == 429
    assert login_via_proxy(Client(), "analyst", PASSWORD, "203.0.113.5").status_code == 302


def test_behind_one_proxy_a_forged_left_entry_does_not_dodge_the_lockout(
    client, analyst, fresh_cache, settings
):
    # Given a guesser behind the proxy putting a new made-up address before its real one
    settings.TRUSTED_PROXIES = 1
    for n in range(5):
        login_via_proxy(client, "analyst", "wrong", f"192.0.2.{n}, 198.51.100.66")

    # Then its real address (the one the proxy appended) is locked
    locked = login_via_proxy(client, "analyst", PASSWORD, "203.0.113.5, 198.51.100.66")
    assert locked.status_code == 429


def test_a_brand_owner_signing_in_here_goes_to_the_brand_portal(
    client, brand_owner_user, fresh_cache
):
    response = login(client, "brand", PASSWORD)
    assert response["Location"] == reverse("portal:dashboard")
    assert b"Go to the brand portal" in client.get(reverse("workbench:dashboard")).content


def test_a_successful_login_clears_earlier_failures(client, analyst, fresh_cache):
    for _ in range(4):
        login(client, "analyst", "wrong")
    assert login(client, "analyst", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        login(client, "analyst", "wrong")
    assert login(client, "analyst", PASSWORD).status_code == 302


def test_pages_carry_the_csrf_token_for_htmx(analyst_client):
    content = analyst_client.get(reverse("workbench:queue")).content
    assert b'hx-headers=\'{"X-CSRFToken": "' in content
