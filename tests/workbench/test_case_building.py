"""The case page's "Build the case" panel: add evidence files and the seller's listings.

Only on an open case, only for analysts; the same services as the API, so a refusal (400, 409)
is shown on the page and changes nothing.
"""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from counterfeits.choices import CaseState, EvidenceKind
from counterfeits.models import Case, CaseEvent, Evidence
from sellers.rings import open_case_on_linked_seller
from tests.factories import (
    BrandFactory,
    ListingFactory,
    SaleFactory,
    SellerFactory,
    force_state,
)
from tests.workbench.builders import closed_case

pytestmark = pytest.mark.django_db

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def ring_case(analyst) -> Case:
    """A case opened from the ring network: no listings, no evidence."""
    return open_case_on_linked_seller(SellerFactory(), actor=analyst, brand_id=BrandFactory().pk)


def evidence_post(case: Case, data: bytes, name: str = "unit.png", **extra) -> tuple[str, dict]:
    body = {
        "files": SimpleUploadedFile(name, data),
        "kind": EvidenceKind.PHOTO,
        "description": "The test-buy unit next to a genuine one.",
    }
    body.update(extra)
    return reverse("workbench:case-evidence", args=[case.pk]), body


def listings_url(case: Case) -> str:
    return reverse("workbench:case-listings", args=[case.pk])


def state_of(case: Case) -> tuple:
    case = Case.objects.get(pk=case.pk)
    return (
        case.state,
        sorted(case.listings.values_list("pk", flat=True)),
        Evidence.objects.filter(case=case).count(),
        CaseEvent.objects.filter(case=case).count(),
    )


# --- the panel -------------------------------------------------------------------------------


def test_an_open_case_page_offers_to_add_evidence_and_listings(analyst_client, ring_case):
    content = analyst_client.get(reverse("workbench:case", args=[ring_case.pk])).content.decode()

    assert 'id="build-case"' in content
    assert f'action="{reverse("workbench:case-evidence", args=[ring_case.pk])}"' in content
    assert 'enctype="multipart/form-data"' in content
    assert f'hx-get="{listings_url(ring_case)}"' in content


def test_a_case_past_the_decision_offers_neither(analyst_client, analyst):
    case = closed_case(analyst=analyst)

    content = analyst_client.get(reverse("workbench:case", args=[case.pk])).content.decode()

    assert 'id="build-case"' not in content
    assert reverse("workbench:case-evidence", args=[case.pk]) not in content


def test_the_panel_costs_the_case_page_no_query(ring_case):
    # Given an open case as the case page loads it (seller and brand joined)
    case = Case.objects.select_related("seller", "brand").get(pk=ring_case.pk)

    # When the panel alone is rendered
    with CaptureQueriesContext(connection) as ctx:
        html = render_to_string("workbench/_case_additions.html", {"case": case})

    # Then it issued no query: the case page costs what it did before the panel
    assert 'id="add-evidence-form"' in html
    assert len(ctx.captured_queries) == 0


# --- adding evidence -------------------------------------------------------------------------


def test_an_uploaded_file_becomes_evidence_of_the_case(analyst_client, analyst, ring_case):
    # Given a ring case without evidence
    url, body = evidence_post(ring_case, PNG)

    # When the analyst uploads a photo through the form
    response = analyst_client.post(url, body)

    # Then they go back to the case, where it is listed with its digest and who added it
    assert response.status_code == 302
    assert response["Location"].endswith(f"/cases/{ring_case.pk}/#evidence")
    evidence = Evidence.objects.get(case=ring_case)
    assert evidence.sha256 == hashlib.sha256(PNG).hexdigest()
    assert (evidence.uploaded_by, evidence.kind) == (analyst, EvidenceKind.PHOTO)
    page = analyst_client.get(response["Location"]).content.decode()
    assert evidence.sha256 in page
    assert "1 evidence file(s) added" in page
    # and the timeline has no new event
    assert CaseEvent.objects.filter(case=ring_case).count() == 1


def test_a_refused_file_is_explained_on_the_case_page_and_nothing_is_stored(
    analyst_client, ring_case
):
    before = state_of(ring_case)
    url, body = evidence_post(ring_case, HTML, name="photo.png")

    response = analyst_client.post(url, body)

    assert response.status_code == 400
    assert b"photo.png: this kind of file is not accepted" in response.content
    assert b'id="build-case"' in response.content  # the form is shown again
    assert state_of(ring_case) == before


def test_an_upload_without_a_file_or_description_is_a_400(analyst_client, ring_case):
    before = state_of(ring_case)
    url, body = evidence_post(ring_case, PNG, description="")
    del body["files"]

    response = analyst_client.post(url, body)

    assert response.status_code == 400
    assert b"Choose at least one file." in response.content or b"required" in response.content
    assert state_of(ring_case) == before


def test_evidence_forged_onto_a_closed_case_is_refused_with_409(analyst_client, analyst):
    # Given a case whose account was closed (no form is offered any more)
    case = closed_case(analyst=analyst)
    before = state_of(case)
    url, body = evidence_post(case, PNG)

    # When a POST is made anyway
    response = analyst_client.post(url, body)

    # Then it is refused, explained, and nothing is stored
    assert response.status_code == 409
    assert b"evidence can be added only while the case is open" in response.content
    assert state_of(case) == before


def test_brand_owners_and_visitors_cannot_add_evidence(client, brand_client, ring_case):
    before = state_of(ring_case)

    url, body = evidence_post(ring_case, PNG)
    assert client.post(url, body).status_code == 302
    url, body = evidence_post(ring_case, PNG)
    assert brand_client.post(url, body).status_code == 403
    assert analyst_only_get(client, brand_client, listings_url(ring_case))
    assert state_of(ring_case) == before


def analyst_only_get(client, brand_client, url: str) -> bool:
    return client.get(url).status_code == 302 and brand_client.get(url).status_code == 403


# --- adding listings -------------------------------------------------------------------------


def test_the_search_lists_the_sellers_listings_of_the_brand_not_yet_on_the_case(
    analyst_client, ring_case
):
    # Given listings of the seller of the case's brand, one of another brand, one of another
    # seller, and one already on the case
    boots = ListingFactory(
        seller=ring_case.seller, product__brand=ring_case.brand, title="Trail boots"
    )
    jacket = ListingFactory(
        seller=ring_case.seller, product__brand=ring_case.brand, title="Alpine jacket"
    )
    SaleFactory(listing=jacket, units=6)
    other_brand = ListingFactory(seller=ring_case.seller)
    other_seller = ListingFactory(product__brand=ring_case.brand)
    on_case = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    ring_case.listings.add(on_case)

    # When the analyst opens the search, then searches for "jacket"
    everything = analyst_client.get(listings_url(ring_case))
    jackets = analyst_client.get(listings_url(ring_case), {"q": "jacket"})

    # Then only the seller's listings of the brand not on the case are offered, with units sold
    assert everything.status_code == 200
    assert {item.pk for item in everything.context["candidates"]} == {boots.pk, jacket.pk}
    assert [item.pk for item in jackets.context["candidates"]] == [jacket.pk]
    assert jackets.context["candidates"][0].units_sold == 6
    assert other_brand.pk not in {item.pk for item in everything.context["candidates"]}
    assert other_seller.pk not in {item.pk for item in everything.context["candidates"]}


def test_htmx_gets_only_the_search_fragment(analyst_client, ring_case):
    response = analyst_client.get(listings_url(ring_case), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.templates[0].name == "workbench/_case_listings_form.html"
    assert b"<html" not in response.content


def test_ticked_listings_are_added_and_the_case_becomes_confirmable(analyst_client, ring_case):
    # Given a ring case and a listing of its seller with sales, and evidence added
    listing = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    SaleFactory(listing=listing, units=2)
    analyst_client.post(*evidence_post(ring_case, PNG))

    # When the analyst ticks the listing and adds it (htmx)
    response = analyst_client.post(
        listings_url(ring_case), {"listing": [listing.pk]}, headers={"HX-Request": "true"}
    )

    # Then the browser goes back to the case, which has the listing and can be confirmed
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("workbench:case", args=[ring_case.pk])
    assert list(ring_case.listings.values_list("pk", flat=True)) == [listing.pk]
    page = analyst_client.get(reverse("workbench:case", args=[ring_case.pk]))
    assert "confirm" in [action.name for action in page.context["actions"]]


def test_another_sellers_listing_is_refused_and_nothing_is_added(analyst_client, ring_case):
    stranger = ListingFactory(product__brand=ring_case.brand)
    before = state_of(ring_case)

    response = analyst_client.post(listings_url(ring_case), {"listing": [stranger.pk]})

    assert response.status_code == 400
    assert b"belong to another seller" in response.content
    assert state_of(ring_case) == before


@pytest.mark.parametrize("ticked", [[], ["abc"], ["1 OR 1=1"], ["9" * 40]])
def test_nothing_or_garbage_ticked_is_a_400(analyst_client, ring_case, ticked):
    before = state_of(ring_case)

    response = analyst_client.post(listings_url(ring_case), {"listing": ticked})

    assert response.status_code == 400
    assert state_of(ring_case) == before


def test_listings_forged_onto_a_dismissed_case_are_refused_with_409(analyst_client, ring_case):
    listing = ListingFactory(seller=ring_case.seller, product__brand=ring_case.brand)
    case = force_state(ring_case, CaseState.DISMISSED)
    before = state_of(case)

    page = analyst_client.get(listings_url(case))
    response = analyst_client.post(listings_url(case), {"listing": [listing.pk]})

    assert page.status_code == 200
    assert b"can be added only while the case is open" in page.content
    assert b'id="add-listings-form"' not in page.content
    assert response.status_code == 409
    assert state_of(case) == before


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_search_costs_the_same_queries_for_1_and_50_listings(analyst_client, analyst):
    def build(n: int) -> str:
        case = open_case_on_linked_seller(
            SellerFactory(), actor=analyst, brand_id=BrandFactory().pk
        )
        for _ in range(n):
            listing = ListingFactory(seller=case.seller, product__brand=case.brand)
            SaleFactory(listing=listing)
        return listings_url(case)

    assert count_queries(analyst_client, build(1)) == count_queries(analyst_client, build(50))
