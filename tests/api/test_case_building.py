"""POST /api/v1/cases/{id}/evidence/ and /listings/: an analyst builds an open case.

A case opened from the ring network has no listings and no evidence; these endpoints are how it
becomes confirmable. Only while the case is open; refusals change nothing.
"""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from counterfeits.audit import verify_case_chain
from counterfeits.choices import CaseState, EvidenceKind
from counterfeits.models import Case, CaseEvent, Evidence
from sellers.rings import open_case_on_linked_seller
from tests.api.conftest import case_in, transition_url
from tests.factories import (
    BrandFactory,
    CaseFactory,
    ListingFactory,
    SaleFactory,
    SellerFactory,
    force_state,
)

pytestmark = pytest.mark.django_db

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HTML_BYTES = b"<!doctype html><html><script>alert(1)</script></html>"


def evidence_url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/evidence/"


def listings_url(case: Case) -> str:
    return f"/api/v1/cases/{case.pk}/listings/"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def evidence_form(*files: SimpleUploadedFile, **extra) -> dict:
    body = {
        "files": list(files),
        "kind": EvidenceKind.TEST_BUY,
        "description": "Test buy 2026-041: no serial number, forged hologram.",
    }
    body.update(extra)
    return body


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def api(client_for, analyst):
    return client_for(analyst)


@pytest.fixture
def ring_case(analyst) -> Case:
    """A case opened from the ring network: one report, no listings, no evidence."""
    seller = SellerFactory()
    brand = BrandFactory()
    return open_case_on_linked_seller(seller, actor=analyst, brand_id=brand.pk)


def case_rows(case: Case) -> tuple:
    """What a refused request must leave as it was."""
    case = Case.objects.get(pk=case.pk)
    return (
        case.state,
        case.safety_risk,
        sorted(case.listings.values_list("pk", flat=True)),
        sorted(Evidence.objects.filter(case=case).values_list("pk", flat=True)),
        CaseEvent.objects.filter(case=case).count(),
    )


# --- evidence --------------------------------------------------------------------------------


def test_an_analyst_adds_evidence_files_stored_under_their_sha256(api, analyst, ring_case):
    # Given a case opened from the ring network, with no evidence
    events_before = CaseEvent.objects.filter(case=ring_case).count()

    # When the analyst uploads a test-buy receipt and a photo
    response = api.post(
        evidence_url(ring_case),
        evidence_form(upload("receipt.pdf", PDF_BYTES), upload("unit.jpg", JPEG_BYTES)),
        format="multipart",
    )

    # Then both are evidence of the case, stored under their digest, with who added them
    assert response.status_code == 201, response.content
    stored = Evidence.objects.filter(case=ring_case).order_by("id")
    assert [e.sha256 for e in stored] == [
        hashlib.sha256(PDF_BYTES).hexdigest(),
        hashlib.sha256(JPEG_BYTES).hexdigest(),
    ]
    assert [e.content_type for e in stored] == ["application/pdf", "image/jpeg"]
    assert {e.uploaded_by_id for e in stored} == {analyst.pk}
    assert {e.kind for e in stored} == {EvidenceKind.TEST_BUY}
    with stored[0].file.open("rb") as handle:
        assert handle.read() == PDF_BYTES
    assert stored[0].file.name.endswith(stored[0].sha256)
    # and the answer is the case, with its evidence listed
    assert {e["sha256"] for e in response.json()["evidence"]} == {e.sha256 for e in stored}
    # and the timeline is unchanged: adding evidence is no transition
    assert CaseEvent.objects.filter(case=ring_case).count() == events_before
    assert verify_case_chain(ring_case.pk) is None


def test_the_same_file_sent_again_is_not_stored_twice(api, ring_case):
    # Given a photo already added to the case
    first = evidence_form(upload("a.jpg", JPEG_BYTES))
    api.post(evidence_url(ring_case), first, format="multipart")

    # When it is sent again (a retried upload)
    response = api.post(
        evidence_url(ring_case), evidence_form(upload("b.jpg", JPEG_BYTES)), format="multipart"
    )

    # Then nothing new is stored and the answer says so
    assert response.status_code == 200
    assert Evidence.objects.filter(case=ring_case).count() == 1


def test_a_file_that_is_not_an_accepted_type_refuses_the_upload_and_stores_nothing(
    api, ring_case, settings
):
    # Given a good PDF and an HTML page posing as a photo
    before = case_rows(ring_case)

    # When both are uploaded together
    response = api.post(
        evidence_url(ring_case),
        evidence_form(upload("receipt.pdf", PDF_BYTES), upload("photo.jpg", HTML_BYTES)),
        format="multipart",
    )

    # Then the upload is refused on the files field, and nothing is stored
    assert response.status_code == 400
    assert "photo.jpg" in response.json()["files"][0]
    assert case_rows(ring_case) == before
    assert stored_files(settings) == []


def test_an_oversized_file_is_refused(api, ring_case, settings):
    settings.MAX_UPLOAD_BYTES = 100
    response = api.post(
        evidence_url(ring_case),
        evidence_form(upload("big.pdf", PDF_BYTES + b"x" * 200)),
        format="multipart",
    )

    assert response.status_code == 400
    assert "larger than the limit" in response.json()["files"][0]
    assert not Evidence.objects.filter(case=ring_case).exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"description": ""}, "description"),
        ({"files": []}, "files"),
    ],
)
def test_a_missing_or_unknown_field_is_a_400_field_error(api, ring_case, extra, field):
    before = case_rows(ring_case)

    response = api.post(
        evidence_url(ring_case),
        evidence_form(upload("unit.jpg", JPEG_BYTES), **extra),
        format="multipart",
    )

    assert response.status_code == 400
    assert field in response.json()
    assert case_rows(ring_case) == before


@pytest.mark.parametrize("state", [CaseState.CONFIRMED, CaseState.DISMISSED, CaseState.REFERRED])
def test_evidence_cannot_be_added_once_the_case_is_no_longer_open(api, state, settings):
    # Given a case past the decision
    case = case_in(state)
    before = case_rows(case)

    # When an analyst tries to add evidence to it
    response = api.post(
        evidence_url(case), evidence_form(upload("late.jpg", JPEG_BYTES)), format="multipart"
    )

    # Then it is refused as not allowed now, and nothing is stored
    assert response.status_code == 409
    assert response.json()["state"] == state
    assert case_rows(case) == before
    assert stored_files(settings) == []


def test_evidence_for_a_case_that_does_not_exist_is_404(api):
    gone = CaseFactory()
    gone_id = gone.pk
    gone.delete()

    response = api.post(
        f"/api/v1/cases/{gone_id}/evidence/",
        evidence_form(upload("unit.jpg", JPEG_BYTES)),
        format="multipart",
    )

    assert response.status_code == 404
    assert not Evidence.objects.exists()


def test_a_brand_owner_may_not_add_evidence_to_a_case(client_for, brand_owner_user, ring_case):
    before = case_rows(ring_case)

    response = client_for(brand_owner_user).post(
        evidence_url(ring_case), evidence_form(upload("unit.jpg", JPEG_BYTES)), format="multipart"
    )

    assert response.status_code == 403
    assert case_rows(ring_case) == before


def test_evidence_sent_as_json_is_refused_as_the_wrong_media_type(api, ring_case):
    response = api.post(
        evidence_url(ring_case),
        {"kind": "photo", "description": "no file here"},
        format="json",
    )

    assert response.status_code == 415
    assert not Evidence.objects.filter(case=ring_case).exists()


# --- listings --------------------------------------------------------------------------------


def test_an_analyst_adds_the_sellers_listings_and_the_ring_case_can_then_be_confirmed(
    api, ring_case
):
    # Given a ring case, and two of its seller's listings of the brand, one with sales
    sold = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    SaleFactory(listing=sold, units=4)
    other = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    events_before = CaseEvent.objects.filter(case=ring_case).count()

    # When the analyst adds both listings
    response = api.post(
        listings_url(ring_case), {"listing_ids": [sold.pk, other.pk]}, format="json"
    )

    # Then they are on the case, with the units sold, and no event was written
    assert response.status_code == 200, response.content
    assert {item["id"] for item in response.json()["listings"]} == {sold.pk, other.pk}
    assert response.json()["units_sold"] == 4
    assert CaseEvent.objects.filter(case=ring_case).count() == events_before

    # and once evidence is added too, confirm is possible and succeeds
    api.post(
        evidence_url(ring_case), evidence_form(upload("unit.jpg", JPEG_BYTES)), format="multipart"
    )
    assert "confirm" in api.get(f"/api/v1/cases/{ring_case.pk}/").json()["allowed_transitions"]
    confirmed = api.post(
        transition_url(ring_case, "confirm"), {"reason": "test buy is a fake"}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["state"] == CaseState.CONFIRMED
    assert verify_case_chain(ring_case.pk) is None


def test_adding_a_listing_already_on_the_case_changes_nothing(api, ring_case):
    listing = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    api.post(listings_url(ring_case), {"listing_ids": [listing.pk]}, format="json")
    before = case_rows(ring_case)

    response = api.post(listings_url(ring_case), {"listing_ids": [listing.pk]}, format="json")

    assert response.status_code == 200
    assert case_rows(ring_case) == before


def test_a_listing_of_a_safety_risk_product_makes_the_case_a_safety_risk(api, ring_case):
    charger = ListingFactory(
        seller=ring_case.seller, product__brand=ring_case.brand, product__safety_risk=True
    )

    response = api.post(listings_url(ring_case), {"listing_ids": [charger.pk]}, format="json")

    assert response.status_code == 200
    assert response.json()["safety_risk"] is True
    assert Case.objects.get(pk=ring_case.pk).safety_risk is True


@pytest.mark.parametrize("whose", ["other_seller", "other_brand", "missing"])
def test_listings_not_of_the_cases_seller_and_brand_are_refused_and_nothing_changes(
    api, ring_case, whose
):
    # Given one good listing, and one that does not belong on this case
    good = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    if whose == "other_seller":
        bad_id = ListingFactory(product__brand=ring_case.brand).pk
    elif whose == "other_brand":
        bad_id = ListingFactory(seller=ring_case.seller).pk
    else:
        gone = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
        bad_id = gone.pk
        gone.delete()
    before = case_rows(ring_case)

    # When both are sent
    response = api.post(listings_url(ring_case), {"listing_ids": [good.pk, bad_id]}, format="json")

    # Then the request is refused on listing_ids naming the bad one, and nothing is added
    assert response.status_code == 400
    assert str(bad_id) in response.json()["listing_ids"][0]
    assert case_rows(ring_case) == before


@pytest.mark.parametrize("body", [{}, {"listing_ids": []}, {"listing_ids": ["x"]}, [1, 2]])
def test_a_malformed_listings_body_is_a_400(api, ring_case, body):
    before = case_rows(ring_case)

    response = api.post(listings_url(ring_case), body, format="json")

    assert response.status_code == 400
    assert case_rows(ring_case) == before


def test_listings_cannot_be_added_once_the_case_is_confirmed(api):
    case = case_in(CaseState.CONFIRMED)
    listing = ListingFactory(seller=case.seller, product__brand=case.brand)
    before = case_rows(case)

    response = api.post(listings_url(case), {"listing_ids": [listing.pk]}, format="json")

    assert response.status_code == 409
    assert "only while the case is open" in response.json()["detail"]
    assert case_rows(case) == before


def test_a_brand_owner_may_not_add_listings(client_for, brand_owner_user, ring_case):
    listing = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    before = case_rows(ring_case)

    response = client_for(brand_owner_user).post(
        listings_url(ring_case), {"listing_ids": [listing.pk]}, format="json"
    )

    assert response.status_code == 403
    assert case_rows(ring_case) == before


def test_listings_for_a_case_that_does_not_exist_is_404(api):
    case = force_state(CaseFactory(), CaseState.OPEN)
    listing = ListingFactory(seller=case.seller, product__brand=case.brand)
    case_id = case.pk
    case.delete()

    response = api.post(f"/api/v1/cases/{case_id}/listings/", {"listing_ids": [listing.pk]})

    assert response.status_code == 404
