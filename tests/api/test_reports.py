"""GET/POST /api/v1/reports/: brand owners file and follow their brands' reports."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counterfeits.choices import ReportReason, ReportStatus
from counterfeits.models import Report
from tests.factories import (
    BrandFactory,
    BrandMembershipFactory,
    ListingFactory,
    ReportFactory,
    SellerFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def brand(brand_owner_user):
    membership = BrandMembershipFactory(user=brand_owner_user)
    return membership.brand


def report_body(brand, /, **overrides) -> dict:
    body = {
        "brand": brand.pk,
        "reason": ReportReason.COUNTERFEIT,
        "explanation": "Test buy: wrong serial number, misspelt logo on the box.",
        "notifier_name": "Dana Brandt",
        "notifier_email": "dana@brand.example",
        "good_faith": True,
    }
    body.update(overrides)
    return body


def test_a_brand_owner_files_a_report_and_the_seller_is_derived_from_the_listings(
    client_for, brand_owner_user, brand
):
    # Given two listings of one seller
    seller = SellerFactory()
    listings = [ListingFactory(seller=seller, product__brand=brand) for _ in range(2)]

    # When the brand owner reports them
    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand, listings=[x.pk for x in listings]), format="json"
    )

    # Then the report is received, against that seller, filed by them
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["seller"]["id"] == seller.pk
    assert sorted(data["listings"]) == sorted(x.pk for x in listings)
    assert data["status"] == ReportStatus.RECEIVED
    report = Report.objects.get(pk=data["id"])
    assert report.reporter == brand_owner_user
    assert report.good_faith is True


def test_a_report_may_name_the_seller_without_listings(client_for, brand_owner_user, brand):
    seller = SellerFactory()

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand, seller=seller.pk), format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["seller"]["id"] == seller.pk
    assert response.json()["listings"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"good_faith": False}, "good_faith"),
        ({"good_faith": None}, "good_faith"),
        ({"reason": "dislike"}, "reason"),
        ({"explanation": ""}, "explanation"),
        ({"notifier_email": "not-an-address"}, "notifier_email"),
        ({"notifier_name": ""}, "notifier_name"),
        ({"brand": None}, "brand"),
        ({"brand": "x"}, "brand"),
        ({"listings": "1,2"}, "listings"),
        ({"listings": [-1]}, "listings"),
        ({"seller": "nobody"}, "seller"),
    ],
)
def test_a_bad_report_body_is_a_400_with_the_field_and_nothing_is_filed(
    client_for, brand_owner_user, brand, change, field
):
    seller = SellerFactory()

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand, **{"seller": seller.pk, **change}), format="json"
    )

    assert response.status_code == 400
    assert field in response.json()
    assert not Report.objects.exists()


def test_listings_of_two_sellers_in_one_report_are_refused(client_for, brand_owner_user, brand):
    listings = [ListingFactory(product__brand=brand), ListingFactory(product__brand=brand)]

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand, listings=[x.pk for x in listings]), format="json"
    )

    assert response.status_code == 400
    assert "one seller" in response.json()["listings"][0]
    assert not Report.objects.exists()


def test_listings_that_do_not_exist_are_named(client_for, brand_owner_user, brand):
    listing = ListingFactory(product__brand=brand)
    gone = ListingFactory(seller=listing.seller)
    gone_id = gone.pk
    gone.delete()

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand, listings=[listing.pk, gone_id]), format="json"
    )

    assert response.status_code == 400
    assert str(gone_id) in response.json()["listings"][0]
    assert not Report.objects.exists()


def test_listings_of_another_seller_than_the_named_one_are_refused(
    client_for, brand_owner_user, brand
):
    listing = ListingFactory(product__brand=brand)

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/",
        report_body(brand, seller=SellerFactory().pk, listings=[listing.pk]),
        format="json",
    )

    assert response.status_code == 400
    assert "listings" in response.json()


def test_a_report_needs_a_seller_or_listings(client_for, brand_owner_user, brand):
    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(brand), format="json"
    )

    assert response.status_code == 400
    assert "seller" in response.json()


def test_a_brand_owner_cannot_file_for_a_brand_they_do_not_belong_to(
    client_for, brand_owner_user, brand
):
    other = BrandFactory()

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", report_body(other, seller=SellerFactory().pk), format="json"
    )

    assert response.status_code == 400
    assert "brand" in response.json()
    assert not Report.objects.exists()


def test_a_brand_owner_cannot_see_another_brands_report(client_for, brand_owner_user, brand):
    # Given a report of their brand and one of another brand
    mine = ReportFactory(brand=brand)
    theirs = ReportFactory()
    client = client_for(brand_owner_user)

    # When they list reports and ask for the other one by id
    listed = client.get("/api/v1/reports/")
    other = client.get(f"/api/v1/reports/{theirs.pk}/")

    # Then only their brand's report is listed and the other is not found
    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [mine.pk]
    assert other.status_code == 404
    assert client.get(f"/api/v1/reports/{mine.pk}/").status_code == 200


def test_a_brand_owner_sees_reports_filed_by_other_members_of_their_brand(
    client_for, brand_owner_user, brand
):
    colleague_report = ReportFactory(brand=brand)  # filed by another brand-owner user

    response = client_for(brand_owner_user).get(f"/api/v1/reports/{colleague_report.pk}/")

    assert response.status_code == 200


def test_filtering_by_another_brand_is_refused_like_a_missing_brand(
    client_for, brand_owner_user, brand
):
    other = ReportFactory()

    response = client_for(brand_owner_user).get(f"/api/v1/reports/?brand={other.brand_id}")

    assert response.status_code == 400
    assert "brand" in response.json()


def test_analysts_see_every_report(client_for, analyst):
    reports = [ReportFactory(), ReportFactory()]

    response = client_for(analyst).get("/api/v1/reports/")

    assert response.status_code == 200
    assert {r["id"] for r in response.json()["results"]} == {r.pk for r in reports}


def test_a_user_without_a_role_cannot_read_reports(client_for):
    from tests.factories import UserFactory

    ReportFactory()

    response = client_for(UserFactory()).get("/api/v1/reports/")

    assert response.status_code == 403


def test_the_report_list_costs_the_same_queries_for_1_and_30_reports(
    client, brand_owner_user, brand
):
    client.force_login(brand_owner_user)
    ReportFactory(brand=brand)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/reports/").status_code == 200
    for _ in range(29):
        ReportFactory(brand=brand)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/reports/")
    assert response.json()["count"] == 30
    assert len(many) == len(one)


def test_a_ring_alert_is_the_analysts_lead_not_the_brand_owners(
    client_for, analyst, brand_owner_user
):
    # Given a brand owner's brand with their own report and a ring-detection alert on it
    from counterfeits.choices import ReportReason
    from tests.factories import BrandMembershipFactory, ReportFactory

    membership = BrandMembershipFactory(user=brand_owner_user)
    own = ReportFactory(brand=membership.brand, reporter=brand_owner_user)
    alert = ReportFactory(
        brand=membership.brand, reporter=None, reason=ReportReason.LINKED_TO_CLOSED_SELLER
    )

    # When the brand owner lists and opens reports
    owner = client_for(brand_owner_user)
    listed = [r["id"] for r in owner.get("/api/v1/reports/").json()["results"]]
    opened = owner.get(f"/api/v1/reports/{alert.pk}/")

    # Then the alert is absent and a 404, while an analyst sees both
    assert listed == [own.pk]
    assert opened.status_code == 404
    seen = {r["id"] for r in client_for(analyst).get("/api/v1/reports/").json()["results"]}
    assert seen == {own.pk, alert.pk}
