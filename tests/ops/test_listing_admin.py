"""The listings admin: the listings and sales a case rests on cannot be deleted by hand."""

import pytest
from django.urls import reverse

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
