"""GET /api/v1/sellers/, /api/v1/sellers/{id}/ and /api/v1/listings/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from listings.choices import ListingStatus
from sellers.choices import IdentifierKind, SellerStatus
from sellers.identity import mask
from sellers.models import SellerIdentifier
from sellers.services import linked_sellers
from tests.factories import (
    ListingFactory,
    MarketplaceFactory,
    ProductFactory,
    SaleFactory,
    SellerFactory,
)

pytestmark = pytest.mark.django_db


def share(kind: str, value: str, *sellers) -> None:
    for seller in sellers:
        SellerIdentifier.objects.create(seller=seller, kind=kind, value=value)


def test_linked_sellers_are_those_sharing_an_identifier_most_shared_first():
    # Given a seller sharing a phone with one account and phone + e-mail with another
    seller, by_phone, by_both, stranger = (SellerFactory() for _ in range(4))
    share(IdentifierKind.PHONE, "+15550100", seller, by_phone, by_both)
    share(IdentifierKind.EMAIL, "ops@fakes.example", seller, by_both)
    share(IdentifierKind.EMAIL, "other@x.example", stranger)
    share(IdentifierKind.PHONE, "+15550100", stranger)  # same value, kind is what differs below
    SellerIdentifier.objects.filter(seller=stranger, kind=IdentifierKind.PHONE).update(
        kind=IdentifierKind.TAX_ID
    )

    # When the linked accounts are computed
    linked = linked_sellers(seller)

    # Then both accounts are linked, the closer one first, and the stranger is not
    assert [entry.seller for entry in linked] == [by_both, by_phone]
    assert sorted(linked[0].shared) == [
        (IdentifierKind.EMAIL, "ops@fakes.example"),
        (IdentifierKind.PHONE, "+15550100"),
    ]


def test_a_placeholder_identifier_links_nobody_in_the_linked_accounts(monkeypatch):
    # Given a placeholder limit of 3 holders, a seller whose phone is a call centre's (held by
    # 4 accounts) and whose e-mail is shared with one other account
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    seller, by_email, *call_centre = (SellerFactory() for _ in range(5))
    share(IdentifierKind.PHONE, "+18001234567", seller, *call_centre)
    share(IdentifierKind.EMAIL, "ops@fakes.example", seller, by_email)

    # When the linked accounts are computed
    linked = linked_sellers(seller)

    # Then the placeholder links nobody, as in the rings: only the e-mail link is shown
    assert [entry.seller for entry in linked] == [by_email]
    assert linked[0].shared == [(IdentifierKind.EMAIL, "ops@fakes.example")]


def test_an_identifier_at_the_placeholder_limit_still_links(monkeypatch):
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    seller, *others = (SellerFactory() for _ in range(3))
    share(IdentifierKind.PHONE, "+15550100", seller, *others)

    assert [entry.seller for entry in linked_sellers(seller)] == others


def test_the_seller_detail_costs_the_same_queries_with_or_without_a_placeholder(
    client, analyst, monkeypatch
):
    monkeypatch.setattr("sellers.rings.HUB_LIMIT", 3)
    client.force_login(analyst)
    seller, other = SellerFactory(), SellerFactory()
    share(IdentifierKind.EMAIL, "ops@fakes.example", seller, other)
    with CaptureQueriesContext(connection) as without:
        response = client.get(f"/api/v1/sellers/{seller.pk}/")
    assert [a["id"] for a in response.json()["linked_accounts"]] == [other.pk]

    share(IdentifierKind.PHONE, "+18001234567", seller, *(SellerFactory() for _ in range(5)))
    with CaptureQueriesContext(connection) as with_placeholder:
        response = client.get(f"/api/v1/sellers/{seller.pk}/")

    assert [a["id"] for a in response.json()["linked_accounts"]] == [other.pk]
    assert len(with_placeholder) == len(without)


def test_the_seller_detail_shows_contact_status_and_linked_accounts(client_for, analyst):
    seller = SellerFactory(status=SellerStatus.CLOSED, country="DE", region="BE")
    other = SellerFactory()
    share(IdentifierKind.PAYMENT, "a1b2c3d4e5f6", seller, other)

    response = client_for(analyst).get(f"/api/v1/sellers/{seller.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["status"] == SellerStatus.CLOSED
    contact = data["contact"]
    assert contact["name"] == seller.name
    assert contact["tax_id"] == seller.tax_id
    assert contact["country"] == "DE"
    assert contact["address"]["line1"] == seller.address_line1
    assert contact["address"]["region"] == "BE"
    assert [a["id"] for a in data["linked_accounts"]] == [other.pk]
    # Payment accounts are keyed hashes: the analyst sees a recognisable prefix, no more.
    assert data["linked_accounts"][0]["shared"] == [
        {"kind": "payment", "label": "Payment account", "value": mask("payment", "a1b2c3d4e5f6")}
    ]


def test_the_seller_list_filters_by_status_country_and_search(client_for, analyst):
    wanted = SellerFactory(company_name="Shenzhen Glow Trading", country="CN")
    SellerFactory(company_name="Glow Imports", country="US")
    SellerFactory(company_name="Shenzhen Other", country="CN", status=SellerStatus.CLOSED)
    client = client_for(analyst)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/sellers/?{query}")
        assert response.status_code == 200, response.content
        return {s["id"] for s in response.json()["results"]}

    assert ids("q=glow&country=cn") == {wanted.pk}
    assert ids("status=active&country=CN") == {wanted.pk}
    assert ids(f"q={wanted.email}") == {wanted.pk}


def test_the_seller_list_costs_the_same_queries_for_1_and_30_sellers(client, analyst):
    client.force_login(analyst)
    SellerFactory()
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/sellers/").status_code == 200
    for _ in range(29):
        SellerFactory()
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/sellers/").json()["count"] == 30
    assert len(many) == len(one)


def test_the_listing_list_filters_and_counts_units_sold(client_for, analyst):
    seller = SellerFactory()
    product = ProductFactory()
    wanted = ListingFactory(seller=seller, product=product, marketplace=MarketplaceFactory())
    SaleFactory(listing=wanted, units=2)
    SaleFactory(listing=wanted, units=5)
    ListingFactory(seller=seller, marketplace=MarketplaceFactory(code="de"))
    ListingFactory(product=product, status=ListingStatus.DELISTED)
    client = client_for(analyst)

    def results(query: str) -> list[dict]:
        response = client.get(f"/api/v1/listings/?{query}")
        assert response.status_code == 200, response.content
        return response.json()["results"]

    found = results(f"seller={seller.pk}&brand={product.brand_id}&status=active&marketplace=us")
    assert [x["id"] for x in found] == [wanted.pk]
    assert found[0]["units_sold"] == 7
    assert found[0]["product"]["brand"]["id"] == product.brand_id
    assert found[0]["seller"]["id"] == seller.pk
    assert len(results("marketplace=de")) == 1
    assert len(results("status=delisted")) == 1


def test_the_listing_list_costs_the_same_queries_for_1_and_30_listings(client, analyst):
    client.force_login(analyst)
    SaleFactory()
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/listings/").status_code == 200
    for _ in range(29):
        SaleFactory()
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/v1/listings/").json()["count"] == 30
    assert len(many) == len(one)


@pytest.mark.parametrize("path", ["/api/v1/sellers/", "/api/v1/sellers/{id}/", "/api/v1/listings/"])
def test_brand_owners_may_not_read_sellers_or_listings(client_for, brand_owner_user, path):
    seller = SellerFactory()

    response = client_for(brand_owner_user).get(path.format(id=seller.pk))

    assert response.status_code == 403
    assert seller.email not in response.content.decode()
