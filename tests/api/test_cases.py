"""GET/POST /api/v1/cases/ and GET /api/v1/cases/{id}/."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appeals.models import Appeal
from counterfeits.choices import CaseState, ReportStatus
from counterfeits.models import Case, CaseEvent, Report
from tests.api.conftest import case_in
from tests.factories import (
    AppealEvidenceFactory,
    CaseFactory,
    EvidenceFactory,
    ReportFactory,
    SellerFactory,
    UserFactory,
    force_state,
)

pytestmark = pytest.mark.django_db


def test_the_case_list_costs_the_same_queries_for_1_and_30_cases(client, analyst):
    client.force_login(analyst)
    CaseFactory(assignee=analyst)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/cases/").status_code == 200
    for _ in range(29):
        CaseFactory(assignee=UserFactory())
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/cases/")
    assert response.json()["count"] == 30
    assert len(many) == len(one)


def test_the_case_list_filters_by_state_brand_seller_assignee_and_country(client_for, analyst):
    german = SellerFactory(country="DE")
    wanted = force_state(CaseFactory(seller=german, assignee=analyst), CaseState.CONFIRMED)
    CaseFactory(seller=german)  # open
    CaseFactory(assignee=analyst)  # US seller
    client = client_for(analyst)

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/cases/?{query}")
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()["results"]}

    assert ids("state=confirmed") == {wanted.pk}
    assert ids(f"brand={wanted.brand_id}") == {wanted.pk}
    assert ids(f"seller={german.pk}&assignee={analyst.pk}") == {wanted.pk}
    assert ids("country=de&state=confirmed&state=open") == {
        c.pk for c in Case.objects.filter(seller=german)
    }


def test_an_unknown_filter_value_is_a_400_not_a_500(client_for, analyst):
    response = client_for(analyst).get("/api/v1/cases/?state=lost&brand=abc")

    assert response.status_code == 400
    assert {"state", "brand"} <= set(response.json())


def test_an_analyst_opens_a_case_from_reports(client_for, analyst):
    # Given two reports on one seller and brand
    first = ReportFactory()
    second = ReportFactory(brand=first.brand, seller=first.seller)

    # When an analyst opens a case from them
    response = client_for(analyst).post(
        "/api/v1/cases/",
        {"report_ids": [first.pk, second.pk], "reason": "two notices, same seller"},
        format="json",
    )

    # Then the case is open with both reports' listings and one "open" event
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["state"] == CaseState.OPEN
    assert sorted(data["reports"]) == [first.pk, second.pk]
    assert len(data["listings"]) == 2
    assert [e["transition"] for e in data["events"]] == ["open"]
    assert data["events"][0]["reason"] == "two notices, same seller"
    assert Report.objects.get(pk=first.pk).status == ReportStatus.CASE_OPENED


def test_opening_a_case_from_reports_on_different_sellers_is_a_400(client_for, analyst):
    reports = [ReportFactory(), ReportFactory()]

    response = client_for(analyst).post(
        "/api/v1/cases/", {"report_ids": [r.pk for r in reports]}, format="json"
    )

    assert response.status_code == 400
    assert "same seller" in response.json()["report_ids"][0]
    assert not Case.objects.exists()


@pytest.mark.parametrize("body", [{}, {"report_ids": []}, {"report_ids": ["a"]}])
def test_opening_a_case_without_report_ids_is_a_400(client_for, analyst, body):
    response = client_for(analyst).post("/api/v1/cases/", body, format="json")

    assert response.status_code == 400
    assert "report_ids" in response.json()
    assert not Case.objects.exists()


def test_a_report_already_in_a_case_cannot_open_another(client_for, analyst):
    report = ReportFactory()
    client = client_for(analyst)
    assert client.post("/api/v1/cases/", {"report_ids": [report.pk]}, format="json").status_code
    events = CaseEvent.objects.count()

    response = client.post("/api/v1/cases/", {"report_ids": [report.pk]}, format="json")

    assert response.status_code == 400
    assert Case.objects.count() == 1
    assert CaseEvent.objects.count() == events


def test_the_case_detail_shows_what_an_analyst_decides_on(client_for, analyst, reviewer):
    # Given a closed account with report evidence, an appeal and a reviewer's decision pending
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)
    report = ReportFactory(brand=case.brand, seller=case.seller, case=case)
    EvidenceFactory(report=report)

    response = client_for(analyst).get(f"/api/v1/cases/{case.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["seller"]["id"] == case.seller_id
    assert data["brand"]["name"] == case.brand.name
    assert data["reports"] == [report.pk]
    assert {e["kind"] for e in data["evidence"]} == {"test_buy"}
    assert len(data["evidence"]) == 2  # one on the case, one on the report
    assert set(data["evidence"][0]) >= {"kind", "description", "sha256", "collected_at"}
    assert data["appeal"]["outcome"] == "pending"
    assert data["appeal"]["id"] == Appeal.objects.get(case=case).pk
    assert data["referrals"] == []
    assert data["confirmed_by"] == analyst.username
    # the analyst who confirmed it may not decide its appeal; a reviewer may
    assert data["allowed_transitions"] == []
    other = client_for(reviewer).get(f"/api/v1/cases/{case.pk}/").json()
    assert sorted(other["allowed_transitions"]) == ["deny_appeal", "grant_appeal"]


def test_the_case_detail_lists_the_files_the_seller_sent_with_the_appeal(
    client_for, reviewer, client
):
    # Given an appeal with two files, the second sent a moment after the first
    case = case_in(CaseState.APPEAL_REVIEW, appeal=True)
    appeal = Appeal.objects.get(case=case)
    files = [AppealEvidenceFactory(appeal=appeal) for _ in range(2)]
    api = client_for(reviewer)

    # When the case is read, and the same appeal through the appeals endpoint
    with CaptureQueriesContext(connection) as queries:
        data = api.get(f"/api/v1/cases/{case.pk}/").json()
    listed = api.get(f"/api/v1/appeals/{appeal.pk}/").json()

    # Then both carry the same files, each with where a signed-in reviewer downloads it
    assert [item["id"] for item in data["appeal"]["evidence"]] == [f.pk for f in files]
    assert data["appeal"]["evidence"] == listed["evidence"]
    first = data["appeal"]["evidence"][0]
    assert first["sha256"] == files[0].sha256
    assert first["download_url"].startswith("http://testserver/")
    client.force_login(reviewer)  # the workbench's session sign-in
    assert client.get(first["download_url"]).status_code == 200
    # and the files cost one query, whatever their number
    AppealEvidenceFactory(appeal=appeal)
    with CaptureQueriesContext(connection) as more:
        assert len(api.get(f"/api/v1/cases/{case.pk}/").json()["appeal"]["evidence"]) == 3
    assert len(more) == len(queries)


def test_a_missing_case_is_404(client_for, analyst):
    case = CaseFactory()
    case_id = case.pk
    case.delete()

    assert client_for(analyst).get(f"/api/v1/cases/{case_id}/").status_code == 404
    assert client_for(analyst).get("/api/v1/cases/not-a-number/").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/v1/cases/"), ("get", "/api/v1/cases/{id}/"), ("post", "/api/v1/cases/")],
)
def test_brand_owners_may_not_use_the_case_endpoints(client_for, brand_owner_user, method, path):
    case = CaseFactory()
    report = ReportFactory()

    response = getattr(client_for(brand_owner_user), method)(
        path.format(id=case.pk), {"report_ids": [report.pk]}, format="json"
    )

    assert response.status_code == 403
    assert Case.objects.count() == 1
