"""The network API (``/api/v1/sellers/{id}/network/``) and the workbench partial."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counterfeits.choices import CaseState, ReportReason
from counterfeits.models import Case, Report
from sellers.identity import refresh_identifiers, set_payment_account
from sellers.models import Seller
from tests.factories import BrandFactory, CaseFactory, SellerFactory, UserFactory, force_state


def ring(size: int) -> list[Seller]:
    """``size`` sellers sharing one phone (a new one per ring), the first with an open case."""
    phone = f"0151 2345 {Seller.objects.count():04d}"
    sellers = [
        SellerFactory(phone=phone, country="DE", tax_id="", company_registration="")
        for _ in range(size)
    ]
    refresh_identifiers([s.pk for s in sellers])
    CaseFactory(seller=sellers[0])
    return [Seller.objects.get(pk=s.pk) for s in sellers]


def test_analyst_reads_the_group_as_nodes_and_masked_edges(db, api_client, analyst):
    a, b = ring(2)
    c = SellerFactory(country="DE", phone="", tax_id="")
    set_payment_account(b, "DE89 3704 0044 0532 0130 00")
    set_payment_account(c, "DE89370400440532013000")
    force_state(CaseFactory(seller=c), CaseState.ACCOUNT_CLOSED)
    api_client.force_authenticate(analyst)

    response = api_client.get(f"/api/v1/sellers/{a.pk}/network/")

    assert response.status_code == 200
    body = response.json()
    assert body["seller"] == a.pk
    assert body["group"] == a.pk
    assert [node["id"] for node in body["nodes"]] == [a.pk, b.pk, c.pk]
    assert body["nodes"][2]["cases"][0]["state"] == "account_closed"
    edges = {(e["seller_a"], e["seller_b"]): e for e in body["edges"]}
    assert set(edges) == {(a.pk, b.pk), (b.pk, c.pk)}
    assert edges[(a.pk, b.pk)]["kinds"] == ["phone"]
    assert edges[(a.pk, b.pk)]["shared"][0]["value"] == "+49********000"
    assert edges[(b.pk, c.pk)]["kinds"] == ["payment"]
    assert edges[(b.pk, c.pk)]["shared"][0]["value"].startswith("#")
    assert "3704" not in response.content.decode()


def test_seller_in_no_group_is_a_single_node(db, api_client, analyst):
    loner = SellerFactory()
    api_client.force_authenticate(analyst)

    body = api_client.get(f"/api/v1/sellers/{loner.pk}/network/").json()

    assert body["group"] is None
    assert [node["id"] for node in body["nodes"]] == [loner.pk]
    assert body["edges"] == []


def test_brand_owner_may_not_read_a_network(db, api_client, brand_owner_user):
    a, _ = ring(2)
    api_client.force_authenticate(brand_owner_user)

    response = api_client.get(f"/api/v1/sellers/{a.pk}/network/")

    assert response.status_code == 403
    assert "nodes" not in response.json()


def test_anonymous_caller_is_refused(db, api_client):
    a, _ = ring(2)

    assert api_client.get(f"/api/v1/sellers/{a.pk}/network/").status_code in (401, 403)


def test_unknown_seller_is_404(db, api_client, analyst):
    gone = SellerFactory()
    gone_id = gone.pk
    gone.delete()
    api_client.force_authenticate(analyst)

    assert api_client.get(f"/api/v1/sellers/{gone_id}/network/").status_code == 404


def test_network_query_count_is_the_same_for_two_and_twenty_sellers(db, api_client, analyst):
    api_client.force_authenticate(analyst)
    small, large = ring(2)[0], ring(20)[0]
    api_client.get(f"/api/v1/sellers/{small.pk}/network/")  # warm the role cache of the user

    with CaptureQueriesContext(connection) as two:
        assert api_client.get(f"/api/v1/sellers/{small.pk}/network/").status_code == 200
    with CaptureQueriesContext(connection) as twenty:
        response = api_client.get(f"/api/v1/sellers/{large.pk}/network/")
    assert len(response.json()["nodes"]) == 20
    assert len(twenty) == len(two)


def test_seller_page_partial_draws_the_group_and_offers_a_case_on_a_linked_seller(db, client):
    analyst = UserFactory(groups=["analyst"])
    a, b = ring(2)
    confirmed = Case.objects.get(seller=a)
    force_state(confirmed, CaseState.CONFIRMED)
    client.force_login(analyst)

    response = client.get(f"/sellers/{a.pk}/network/", headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="network-data-{a.pk}"' in html
    assert 'data-network="network-data-' in html
    assert "js/network.js" in html
    assert f"/sellers/{b.pk}/open-case/" in html


def test_opening_a_case_on_a_linked_seller_from_the_network(db, client):
    analyst = UserFactory(groups=["analyst"])
    a, b = ring(2)
    confirmed = force_state(Case.objects.get(seller=a), CaseState.CONFIRMED)
    client.force_login(analyst)

    response = client.post(
        f"/sellers/{b.pk}/open-case/", {"brand": confirmed.brand_id}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 204
    case = Case.objects.get(seller=b)
    assert response["HX-Redirect"] == f"/cases/{case.pk}/"
    assert case.state == CaseState.OPEN
    assert case.brand_id == confirmed.brand_id
    assert case.reports.get().reason == ReportReason.LINKED_TO_CLOSED_SELLER


def test_a_second_case_for_the_same_brand_is_refused_and_nothing_changes(db, client):
    analyst = UserFactory(groups=["analyst"])
    a, b = ring(2)
    open_case = CaseFactory(seller=b, brand=Case.objects.get(seller=a).brand)
    client.force_login(analyst)
    reports_before = Report.objects.count()

    response = client.post(f"/sellers/{b.pk}/open-case/", {"brand": open_case.brand_id})

    assert response.status_code == 409
    assert list(Case.objects.filter(seller=b)) == [open_case]
    assert Report.objects.count() == reports_before


@pytest.mark.parametrize("path", ["/sellers/{pk}/network/"])
def test_brand_owner_gets_no_network_page(db, client, brand_owner_user, path):
    a, _ = ring(2)
    client.force_login(brand_owner_user)

    response = client.get(path.format(pk=a.pk))

    assert response.status_code == 403
    assert "network-data" not in response.content.decode()


@pytest.mark.parametrize("brand", ["²", "9" * 19, "9" * 30, "-1", "0", ""])
def test_opening_a_case_with_a_brand_that_is_no_id_is_refused_and_nothing_changes(
    db, client, brand
):
    analyst = UserFactory(groups=["analyst"])
    _, b = ring(2)
    client.force_login(analyst)
    reports_before = Report.objects.count()

    response = client.post(f"/sellers/{b.pk}/open-case/", {"brand": brand})

    assert response.status_code == 400
    assert not Case.objects.filter(seller=b).exists()
    assert Report.objects.count() == reports_before


def test_opening_a_case_for_a_brand_that_is_gone_is_refused_and_nothing_changes(db, client):
    analyst = UserFactory(groups=["analyst"])
    _, b = ring(2)
    gone = BrandFactory()
    gone_id = gone.pk
    gone.delete()
    client.force_login(analyst)
    reports_before = Report.objects.count()

    response = client.post(f"/sellers/{b.pk}/open-case/", {"brand": gone_id})

    assert response.status_code == 400
    assert not Case.objects.filter(seller=b).exists()
    assert Report.objects.count() == reports_before


@pytest.mark.parametrize("case", ["²", "9" * 30])
def test_network_panel_ignores_a_case_that_is_no_id(db, client, case):
    analyst = UserFactory(groups=["analyst"])
    a, _ = ring(2)
    client.force_login(analyst)

    response = client.get(f"/sellers/{a.pk}/network/", {"case": case})

    assert response.status_code == 200
    assert response.context["context_case"] is None
