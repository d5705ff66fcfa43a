"""The listings admin: the listings and sales a case rests on cannot be deleted or edited by
hand."""

import pytest
from django.urls import reverse
from django.utils import timezone

from listings.models import Listing, Sale
from tests.factories import ListingFactory, SaleFactory, UserFactory
from tests.ops.conftest import case_through_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed_case(db):
    analyst = UserFactory(username="analyst-listing-admin", groups=["analyst"])
    return case_through_services(analyst=analyst)


def test_a_case_listing_and_its_sales_cannot_be_deleted(admin_client, closed_case):
    # given a closed case, awaiting its referral, whose listing sold fakes to customers
    listing = closed_case.listings.get()
    sale = Sale.objects.get(listing=listing)
    units = closed_case.units_sold()

    # when an operator deletes the listing, or its sale, in the admin
    delete_listing = admin_client.post(
        reverse("admin:listings_listing_delete", args=[listing.pk]), {"post": "yes"}
    )
    delete_sale = admin_client.post(
        reverse("admin:listings_sale_delete", args=[sale.pk]), {"post": "yes"}
    )
    bulk = admin_client.post(
        reverse("admin:listings_listing_changelist"),
        {"action": "delete_selected", "_selected_action": [listing.pk], "post": "yes"},
    )

    # then both are refused: the facts the referral packet will cite stay
    assert delete_listing.status_code == 403
    assert delete_sale.status_code == 403
    assert bulk.status_code in (200, 403)
    assert Listing.objects.filter(pk=listing.pk).exists()
    assert Sale.objects.filter(pk=sale.pk).exists()
    assert closed_case.units_sold() == units


def test_a_listing_no_case_or_report_names_can_still_be_deleted(admin_client):
    listing = ListingFactory()
    SaleFactory(listing=listing, units=1)

    response = admin_client.post(
        reverse("admin:listings_listing_delete", args=[listing.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Listing.objects.filter(pk=listing.pk).exists()


def sale_form(sale: Sale, **changes: object) -> dict:
    """The sale's own change page, posted back with ``changes``."""
    data = {
        "external_id": sale.external_id,
        "listing": sale.listing_id,
        "units": sale.units,
        "customer_country": sale.customer_country,
        "sold_at_0": f"{sale.sold_at:%Y-%m-%d}",
        "sold_at_1": f"{sale.sold_at:%H:%M:%S}",
    }
    return {**data, **changes}


def test_a_case_sale_cannot_be_changed_on_its_own_page(admin_client, closed_case):
    # given a closed case whose listing sold 4 fakes to customers
    sale = Sale.objects.get(listing__in=closed_case.listings.all())
    other = ListingFactory()
    before = Sale.objects.values().get(pk=sale.pk)

    # when an operator lowers the units, or moves the sale to another listing
    url = reverse("admin:listings_sale_change", args=[sale.pk])
    page = admin_client.get(url)
    lowered = admin_client.post(url, sale_form(sale, units=1))
    moved = admin_client.post(url, sale_form(sale, listing=other.pk))

    # then the page only shows the sale, both edits are refused, the units sold stand
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert lowered.status_code == 403
    assert moved.status_code == 403
    assert Sale.objects.values().get(pk=sale.pk) == before
    assert closed_case.units_sold() == 4


def test_a_case_sale_cannot_be_changed_inline_on_its_listing_page(admin_client, closed_case):
    # given the closed case's listing and its sale
    listing = closed_case.listings.get()
    sale = Sale.objects.get(listing=listing)
    before = Sale.objects.values().get(pk=sale.pk)
    sold_at = timezone.now()

    # when the listing page is posted back with the sale's units lowered and a sale added
    response = admin_client.post(
        reverse("admin:listings_listing_change", args=[listing.pk]),
        {
            "external_id": listing.external_id, "seller": listing.seller_id,
            "product": listing.product_id, "marketplace": listing.marketplace_id,
            "title": listing.title, "url": listing.url, "price": listing.price,
            "currency": listing.currency,
            "sales-TOTAL_FORMS": "2", "sales-INITIAL_FORMS": "1",
            "sales-MIN_NUM_FORMS": "0", "sales-MAX_NUM_FORMS": "1000",
            "sales-0-id": sale.pk, "sales-0-listing": listing.pk,
            "sales-0-external_id": sale.external_id, "sales-0-units": "1",
            "sales-0-customer_country": sale.customer_country,
            "sales-0-sold_at_0": f"{sale.sold_at:%Y-%m-%d}",
            "sales-0-sold_at_1": f"{sale.sold_at:%H:%M:%S}",
            "sales-1-listing": listing.pk, "sales-1-external_id": "HAND-1",
            "sales-1-units": "50", "sales-1-customer_country": "US",
            "sales-1-sold_at_0": f"{sold_at:%Y-%m-%d}", "sales-1-sold_at_1": "12:00:00",
        },
    )  # fmt: skip

    # then the page saved, the sale is as it was and no sale was added
    assert response.status_code == 302
    assert Sale.objects.values().get(pk=sale.pk) == before
    assert Sale.objects.filter(listing=listing).count() == 1
    assert closed_case.units_sold() == 4


def test_no_sale_is_added_or_moved_by_hand_to_a_case_listing(admin_client, closed_case):
    # given the closed case's listing and a sale of another, unrelated listing
    listing = closed_case.listings.get()
    stray = SaleFactory(units=7)
    stray_listing = stray.listing_id

    # when an operator adds a sale to the case listing, or moves the stray sale onto it
    added = admin_client.post(
        reverse("admin:listings_sale_add"),
        sale_form(stray, external_id="HAND-2", listing=listing.pk),
    )
    moved = admin_client.post(
        reverse("admin:listings_sale_change", args=[stray.pk]),
        sale_form(stray, listing=listing.pk),
    )

    # then both are refused on the listing field, and the case's units sold stand
    assert added.status_code == 200
    assert "listing" in added.context["adminform"].form.errors
    assert moved.status_code == 200
    assert "listing" in moved.context["adminform"].form.errors
    assert not Sale.objects.filter(external_id="HAND-2").exists()
    assert Sale.objects.get(pk=stray.pk).listing_id == stray_listing
    assert closed_case.units_sold() == 4


def test_a_sale_no_case_or_report_names_can_still_be_edited(admin_client):
    sale = SaleFactory(units=3)

    response = admin_client.post(
        reverse("admin:listings_sale_change", args=[sale.pk]), sale_form(sale, units=2)
    )

    assert response.status_code == 302
    assert Sale.objects.get(pk=sale.pk).units == 2
