"""The authority API: pagination, filters, acknowledgement, access log, retraction, PDF."""

import base64
import io
from datetime import timedelta

import pypdf
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.models import Appeal
from counterfeits.choices import CaseState
from referrals.choices import AccessAction, ReferralStatus
from referrals.models import AccessLogEntry, Referral
from referrals.services import retract_referrals
from tests.factories import BrandFactory, EvidenceFactory, ListingFactory


def pdf_pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages]


# --- list: pagination, order, filters, query count ----------------------------------------------


def test_list_is_oldest_first_and_cursor_paginated_with_a_capped_page_size(
    bearer, us_token, make_referral
):
    # Given five referrals to the US authority and one to the EU authority
    ids = [make_referral("US").pk for _ in range(5)]
    make_referral("DE")
    client = bearer(us_token[1])

    # When the authority pages through two at a time
    seen, url, pages = [], "/api/v1/referrals/?page_size=2", 0
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url, pages = page["next"], pages + 1

    # Then it sees exactly its own, oldest first, over three pages
    assert seen == ids
    assert pages == 3
    # and no caller can ask for more than the cap in one page
    assert len(client.get("/api/v1/referrals/?page_size=100000").json()["results"]) == 5


def test_polling_with_since_the_newest_created_at_returns_only_what_is_new(
    bearer, us_token, make_referral
):
    # Given an authority that read everything and noted the newest created_at (as the guide says)
    first = make_referral("US")
    client = bearer(us_token[1])
    held = client.get("/api/v1/referrals/").json()["results"]
    assert [r["id"] for r in held] == [first.pk]
    newest = held[-1]["created_at"]

    # When a new referral arrives and it polls with since=<that time>
    newer = make_referral("US")
    page = client.get("/api/v1/referrals/", {"since": newest}).json()

    # Then it gets the boundary referral it already holds (inclusive) and the new one, nothing else
    assert [r["id"] for r in page["results"]] == [first.pk, newer.pk]
    assert page["next"] is None


def test_list_filters_by_since_status_seller_country_and_brand(
    bearer, us_token, make_referral, authorities
):
    # Given US referrals of two brands and seller countries, one old and one acknowledged
    acme = BrandFactory(name="Acme")
    old = make_referral("US", brand=acme)
    Referral.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    acked = make_referral("US")
    Referral.objects.filter(pk=acked.pk).update(status=ReferralStatus.ACKNOWLEDGED)
    us_seller_elsewhere = make_referral("US", brand=acme)
    Referral.objects.filter(pk=us_seller_elsewhere.pk).update(seller_country="CA")
    client = bearer(us_token[1])

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/referrals/?{query}")
        assert response.status_code == 200, response.content
        return [r["id"] for r in response.json()["results"]]

    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    # When it filters / Then only the matching referrals come back
    assert ids(f"since={since}") == [acked.pk, us_seller_elsewhere.pk]
    assert ids("status=acknowledged") == [acked.pk]
    assert ids("seller_country=ca") == [us_seller_elsewhere.pk]
    assert ids("brand=acme") == [old.pk, us_seller_elsewhere.pk]
    assert ids(f"brand=Acme&since={since}") == [us_seller_elsewhere.pk]


@pytest.mark.parametrize(
    "query", ["since=yesterday", "since=2025-13-45T00:00:00Z", "status=lost", "seller_country=USA"]
)
def test_bad_filter_value_is_a_400_naming_the_field(bearer, us_token, make_referral, query):
    # Given a referral
    make_referral("US")

    # When the authority filters with a malformed value
    response = bearer(us_token[1]).get(f"/api/v1/referrals/?{query}")

    # Then it is told which filter is wrong
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def cursor_for(query: str) -> str:
    """A cursor as the paginator encodes one (base64 of its query string), with any content."""
    return base64.b64encode(query.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        cursor_for("p=abc"),
        cursor_for("p=1.5"),
        cursor_for("p=1e5"),
        cursor_for("p=99999999999999999999999"),
        cursor_for("r=1&p=2025-01-01"),
    ],
)
def test_a_cursor_the_api_did_not_make_is_a_400_naming_it(bearer, us_token, make_referral, cursor):
    # Given a referral, and a cursor that is garbage or carries a position that is no id
    make_referral("US")

    # When the authority pages with it
    response = bearer(us_token[1]).get("/api/v1/referrals/", {"cursor": cursor})

    # Then it is told the cursor is wrong (not a server error, not "not found")
    assert response.status_code == 400
    assert response.json() == {"cursor": ["Invalid cursor"]}


def test_list_query_count_is_the_same_for_one_and_a_hundred_referrals(
    bearer, us_token, make_referral
):
    # Given one referral
    make_referral("US")
    client = bearer(us_token[1])
    client.get("/api/v1/referrals/")  # warm-up: the token's last_used_at is written once a minute

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/referrals/?page_size=200")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(response.json()["results"])

    # When the list is read with 1 and then with 100 referrals
    one = count()
    for _ in range(99):
        make_referral("US")
    hundred = count()

    # Then the number of queries does not grow with the rows
    assert one[1] == 1
    assert hundred[1] == 100
    assert one[0] == hundred[0]


def test_list_rows_are_exactly_what_the_summary_serializer_documents(
    bearer, us_token, make_referral
):
    # Given a plain, an acknowledged and a retracted referral
    from rest_framework.test import APIRequestFactory

    from referrals.api.serializers import ReferralSummarySerializer

    plain, acked, retracted = (make_referral("US") for _ in range(3))
    Referral.objects.filter(pk=acked.pk).update(
        status=ReferralStatus.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        authority_reference="IPRC-1",
    )
    retract_referrals(retracted.case, reason="appeal granted")
    client = bearer(us_token[1])

    # When the authority lists them
    listed = client.get("/api/v1/referrals/").json()["results"]

    # Then each row is field for field what the documented serializer gives for that referral
    request = APIRequestFactory().get("/api/v1/referrals/")
    documented = ReferralSummarySerializer(
        Referral.objects.filter(pk__in=[plain.pk, acked.pk, retracted.pk]).order_by("id"),
        many=True,
        context={"request": request},
    ).data
    assert listed == [dict(row) for row in documented]
    assert [r["status"] for r in listed] == ["delivered", "acknowledged", "retracted"]


# --- acknowledgement --------------------------------------------------------------------------


def test_acknowledge_records_the_reference_and_is_idempotent(bearer, us_token, make_referral):
    # Given a delivered referral
    referral = make_referral("US")
    client = bearer(us_token[1])
    url = f"/api/v1/referrals/{referral.pk}/acknowledge/"

    # When the authority acknowledges it twice with the same reference
    first = client.post(url, {"authority_reference": "  IPRC-2025-0042 "}, format="json")
    second = client.post(url, {"authority_reference": "IPRC-2025-0042"}, format="json")

    # Then it is acknowledged once, with the trimmed reference; the second call changes nothing
    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "acknowledged"
    assert first.json()["authority_reference"] == "IPRC-2025-0042"
    assert first.json()["acknowledged_at"] == second.json()["acknowledged_at"]
    stored = Referral.objects.get(pk=referral.pk)
    assert stored.status == ReferralStatus.ACKNOWLEDGED
    assert stored.acknowledged_at is not None
    # and both acknowledgements are in the access log
    assert (
        AccessLogEntry.objects.filter(referral=referral, action=AccessAction.ACKNOWLEDGE).count()
        == 2
    )


def test_acknowledging_again_with_another_reference_is_a_conflict(bearer, us_token, make_referral):
    # Given a referral acknowledged with one reference
    referral = make_referral("US")
    client = bearer(us_token[1])
    url = f"/api/v1/referrals/{referral.pk}/acknowledge/"
    client.post(url, {"authority_reference": "FIRST-1"}, format="json")
    before = Referral.objects.get(pk=referral.pk)

    # When another reference is sent
    response = client.post(url, {"authority_reference": "SECOND-2"}, format="json")

    # Then it is refused with 409 and nothing changed
    assert response.status_code == 409
    assert "FIRST-1" in response.json()["detail"]
    after = Referral.objects.get(pk=referral.pk)
    assert (after.authority_reference, after.acknowledged_at) == ("FIRST-1", before.acknowledged_at)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"authority_reference": ""},
        {"authority_reference": "   "},
        {"authority_reference": "x" * 201},
    ],
)
def test_acknowledge_needs_a_reference_of_at_most_200_characters(
    bearer, us_token, make_referral, body
):
    # Given a referral
    referral = make_referral("US")

    # When the authority acknowledges with a missing, blank or too long reference
    response = bearer(us_token[1]).post(
        f"/api/v1/referrals/{referral.pk}/acknowledge/", body, format="json"
    )

    # Then it is a 400 on that field and nothing changed
    assert response.status_code == 400
    assert "authority_reference" in response.json()
    assert Referral.objects.get(pk=referral.pk).acknowledged_at is None
    assert not AccessLogEntry.objects.filter(referral=referral).exists()


# --- access log -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/api/v1/referrals/{id}/", AccessAction.READ_JSON),
        ("/api/v1/referrals/{id}/packet.json", AccessAction.READ_JSON),
        ("/api/v1/referrals/{id}/packet.pdf", AccessAction.READ_PDF),
    ],
)
def test_every_packet_read_is_written_to_the_access_log(
    bearer, us_token, make_referral, path, action
):
    # Given a referral and an authority client
    referral = make_referral("US")
    token, raw = us_token
    client = bearer(raw)

    # When it reads the packet
    response = client.get(
        path.format(id=referral.pk), HTTP_USER_AGENT="IPRC-Intake/2.1", REMOTE_ADDR="203.0.113.9"
    )

    # Then the access log has who, what, when and from where
    assert response.status_code == 200
    entry = AccessLogEntry.objects.get(referral=referral)
    assert entry.action == action
    assert entry.client_id == token.client_id
    assert entry.token_id == token.pk
    assert entry.ip == "203.0.113.9"
    assert entry.user_agent == "IPRC-Intake/2.1"
    assert timezone.now() - entry.at < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "logged"),
    [
        (0, "198.51.100.7", "10.0.0.2"),
        (1, "198.51.100.7, 203.0.113.9", "203.0.113.9"),
        (1, "junk", "10.0.0.2"),
    ],
)
def test_the_access_log_records_the_client_behind_the_trusted_proxies(
    bearer, us_token, make_referral, settings, trusted, forwarded_for, logged
):
    # Given TRUSTED_PROXIES proxies in front of the app (10.0.0.2 the nearest)
    settings.TRUSTED_PROXIES = trusted
    referral = make_referral("US")
    _, raw = us_token

    # When an authority reads a packet through them
    response = bearer(raw).get(
        f"/api/v1/referrals/{referral.pk}/",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )

    # Then the log has the address the proxies vouch for, never one the client made up
    assert response.status_code == 200
    assert AccessLogEntry.objects.get(referral=referral).ip == logged


def test_token_records_when_it_was_last_used(bearer, us_token, make_referral):
    # Given a token never used
    token, raw = us_token
    assert token.last_used_at is None

    # When it is used
    bearer(raw).get("/api/v1/referrals/")

    # Then its last use is recorded
    token.refresh_from_db()
    assert token.last_used_at is not None


# --- retraction ---------------------------------------------------------------------------------


def test_retracted_referral_stays_readable_with_its_retraction(
    bearer, us_token, make_referral, django_capture_on_commit_callbacks
):
    # Given a referral that the authority can read
    referral = make_referral("US")
    client = bearer(us_token[1])

    # When the case is reinstated after referral
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        retract_referrals(referral.case, reason="appeal granted: the goods were genuine")

    # Then the API shows it retracted, with when and why, and the packet is still there and valid
    detail = client.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert detail["status"] == "retracted"
    assert detail["retraction_reason"] == "appeal granted: the goods were genuine"
    assert detail["retracted_at"] is not None
    assert detail["sha256"] == referral.sha256
    assert detail["packet"]["referral_id"] == referral.pk
    assert [
        r["id"] for r in client.get("/api/v1/referrals/?status=retracted").json()["results"]
    ] == [referral.pk]
    # and its PDF carries the retraction note on every page
    pdf = client.get(f"/api/v1/referrals/{referral.pk}/packet.pdf")
    pages = pdf_pages_text(pdf.content)
    assert "RETRACTED" in pages[0]
    assert "the goods were genuine" in pages[0]
    assert all("RETRACTED" in page for page in pages)
    # and a retraction push was queued on commit
    assert len(callbacks) == 1


def test_granting_a_late_appeal_retracts_the_referral_through_the_case_flow(
    bearer, us_token, make_referral, reviewer
):
    from appeals.services import decide_appeal
    from tests.factories import force_state

    # Given a referred case with a pending late appeal
    referral = make_referral("US")
    case = force_state(referral.case, CaseState.REFERRED)
    appeal = Appeal.objects.create(
        case=case, **_appeal_fields(Appeal), outcome=AppealOutcome.PENDING
    )

    # When a reviewer grants it
    decide_appeal(appeal.pk, outcome=AppealOutcome.GRANTED, actor=reviewer, reason="genuine")

    # Then the authority sees the referral retracted
    detail = bearer(us_token[1]).get(f"/api/v1/referrals/{referral.pk}/").json()
    assert detail["status"] == "retracted"
    assert "genuine" in detail["retraction_reason"]


def _appeal_fields(model) -> dict:
    """The required text fields of an Appeal, whatever the appeals app names them."""
    fields = {}
    for field in model._meta.concrete_fields:
        if field.name in {"id", "case", "outcome"} or field.has_default() or field.null:
            continue
        if field.get_internal_type() in {"TextField", "CharField"} and not field.blank:
            fields[field.name] = "The goods were bought from the brand's distributor."
        elif field.get_internal_type() == "EmailField":
            fields[field.name] = "seller@sellers.example"
    return fields


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_is_readable_and_every_page_carries_the_digest_and_key_id(
    bearer, us_token, make_referral
):
    # Given a referral with enough evidence to fill several pages
    referral = make_referral("US", name="Ana <b>Bold</b> & <font size=99>Co</font>")
    for i in range(60):
        EvidenceFactory(
            case=referral.case, description=f"Photo {i} of the fake <i>next</i> to the genuine"
        )
    Referral.objects.filter(pk=referral.pk).delete()
    referral = _rerefer(referral.case)

    # When the authority downloads the PDF
    response = bearer(us_token[1]).get(
        f"/api/v1/referrals/{referral.pk}/packet.pdf", HTTP_ACCEPT="application/pdf"
    )

    # Then it is a PDF of several pages, each with the SHA-256 and key id in its footer
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    pages = pdf_pages_text(response.content)
    assert len(pages) >= 2
    for page in pages:
        assert referral.sha256 in page.replace("\n", "")
        assert referral.key_id in page
    text = " ".join(" ".join(pages).split())
    # and the seller's markup-like name is printed as text, not interpreted
    assert "Ana <b>Bold</b> & <font size=99>Co</font>" in text
    assert "Seller Trading Co" in text
    assert "Photo 59 of the fake <i>next</i> to the genuine" in text


def test_pdf_of_a_long_evidence_text_and_a_product_with_many_listings_splits_across_pages(
    bearer, us_token, make_referral
):
    # Given a referral whose evidence has the longest description the API takes (2,000
    # characters, a hundred short lines) and whose product is sold through 150 listings
    referral = make_referral("US")
    case = referral.case
    listing = case.listings.get()
    for _ in range(149):
        case.listings.add(
            ListingFactory(
                seller=case.seller, product=listing.product, marketplace=listing.marketplace
            )
        )
    lines = [f"Parcel {i:03d} seized." for i in range(100)]
    description = "\n".join(lines).ljust(2000, "Z")
    EvidenceFactory(case=case, description=description)
    Referral.objects.filter(case=case).delete()
    referral = _rerefer(case)

    # When the authority downloads the PDF
    response = bearer(us_token[1]).get(f"/api/v1/referrals/{referral.pk}/packet.pdf")

    # Then it is served, the long rows continuing on the next page, and no text is lost
    assert response.status_code == 200
    pages = pdf_pages_text(response.content)
    assert len(pages) >= 3
    # (each page's text starts with its footer: the two lines of digest and page number)
    text = " ".join(" ".join(page.split("\n", 2)[2] for page in pages).split())
    external_ids = sorted(listing.external_id for listing in case.listings.all())
    assert all(external_id in text for external_id in external_ids)
    assert all(line in text for line in lines)


def test_pdf_prints_names_in_chinese_korean_and_cyrillic_and_marks_an_emoji(
    bearer, us_token, make_referral
):
    # Given a seller whose names are written in scripts the body font has no glyphs for
    referral = make_referral(
        "US",
        name="王小明",
        company_name="深圳市华强电子有限公司 · 한국무역 · Мир Торговли",
        address_line1="Calle Niño 5 🏠",
    )

    # When the authority downloads the PDF
    response = bearer(us_token[1]).get(f"/api/v1/referrals/{referral.pk}/packet.pdf")

    # Then every name is in the text of the PDF, not dropped as missing glyphs,
    # and a character no font can draw is named by its code point
    assert response.status_code == 200
    text = " ".join(pdf_pages_text(response.content))
    assert "王小明" in text
    assert "深圳市华强电子有限公司" in text
    assert "한국무역" in text
    assert "Мир Торговли" in text
    assert "Calle Niño 5 [U+1F3E0]" in text


def _rerefer(case):
    """Build the case's referral again (after deleting it), so the packet holds new evidence."""
    from referrals.services import create_referrals

    return create_referrals(case)[0]


# --- signing keys, schema and docs ----------------------------------------------------------------


def test_signing_keys_are_public(api_client, make_referral):
    # Given a signed referral
    referral = make_referral("US")

    # When anyone lists the signing keys
    keys = api_client.get("/api/v1/signing-keys/").json()

    # Then the referral's key is there, with a 32-byte Ed25519 public key
    import base64

    key = next(k for k in keys if k["key_id"] == referral.key_id)
    assert key["algorithm"] == "Ed25519"
    assert len(base64.b64decode(key["public_key"])) == 32


def test_docs_page_serves_its_assets_locally(client):
    # When the browsable API page is opened
    response = client.get("/api/v1/docs/")

    # Then it loads Swagger UI from this site's static files, never from a CDN
    html = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in html


def test_schema_documents_the_authority_endpoints_with_field_descriptions(client):
    # When the OpenAPI document is fetched
    response = client.get("/api/v1/schema/?format=json")

    # Then it lists every authority path, and fields say what they mean
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/referrals/",
        "/api/v1/referrals/{id}/",
        "/api/v1/referrals/{id}/packet.json",
        "/api/v1/referrals/{id}/packet.pdf",
        "/api/v1/referrals/{id}/acknowledge/",
        "/api/v1/signing-keys/",
    ]:
        assert path in schema["paths"], path
    detail = schema["components"]["schemas"]["ReferralDetail"]["properties"]
    assert "Ed25519" in detail["signature"]["description"]
    assert "bearerAuth" in schema["components"]["securitySchemes"]


# --- throttling -------------------------------------------------------------------------------


def test_client_over_its_rate_gets_429_with_retry_after_and_tokens_share_the_budget(
    bearer, us_token, authorities, settings, make_referral
):
    from referrals.services import issue_token

    # Given a rate of 3 a minute and two tokens of the same client
    settings.AUTHORITY_THROTTLE_RATE = "3/min"
    token, raw = us_token
    _, second_raw = issue_token(authority=authorities["US-IPRC"], token_name="backup")
    _, eu_raw = issue_token(authority=authorities["EU-IPC3"])

    # When the client makes 3 calls with one token and then one with the other
    statuses = [bearer(raw).get("/api/v1/referrals/").status_code for _ in range(3)]
    over = bearer(second_raw).get("/api/v1/referrals/")

    # Then the fourth is throttled with Retry-After, and another client is not affected
    assert statuses == [200, 200, 200]
    assert over.status_code == 429
    assert int(over["Retry-After"]) > 0
    assert bearer(eu_raw).get("/api/v1/referrals/").status_code == 200
