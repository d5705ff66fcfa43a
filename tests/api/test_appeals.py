"""GET /api/v1/appeals/ and POST /api/v1/appeals/{id}/decide/."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appeals.choices import AppealOutcome
from appeals.models import Appeal
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from tests.api.conftest import case_in
from tests.factories import AppealEvidenceFactory

pytestmark = pytest.mark.django_db


def decide_url(appeal: Appeal) -> str:
    return f"/api/v1/appeals/{appeal.pk}/decide/"


def state_of(case_id: int) -> tuple[str, int, str]:
    return (
        Case.objects.get(pk=case_id).state,
        CaseEvent.objects.filter(case_id=case_id).count(),
        Appeal.objects.get(case_id=case_id).outcome,
    )


def test_the_appeal_list_filters_by_outcome_and_lateness(client_for, analyst, reviewer):
    pending = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True).appeal
    late = case_in(CaseState.REFERRED, appeal=True).appeal
    Appeal.objects.filter(pk=late.pk).update(late=True)
    client = client_for(reviewer)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/appeals/?{query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["results"]]

    assert ids("outcome=pending") == [pending.pk, late.pk]
    assert ids("late=true") == [late.pk]
    assert ids("late=false") == [pending.pk]


@pytest.mark.parametrize("value", ["maybe", "1", "yes", "TRUE ", "%00"])
def test_a_lateness_that_is_not_true_or_false_is_a_400_naming_the_filter(client, reviewer, value):
    # an unknown value used to be ignored: the whole queue came back as if it were filtered
    client.force_login(reviewer)
    response = client.get("/api/v1/appeals/", {"late": value})
    assert response.status_code == 400, response.content
    assert "late" in response.json()


def test_the_appeal_list_says_who_may_decide(client_for, analyst, reviewer):
    case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)

    as_confirmer = client_for(analyst).get("/api/v1/appeals/").json()["results"][0]
    as_reviewer = client_for(reviewer).get("/api/v1/appeals/").json()["results"][0]

    assert as_confirmer["may_decide"] is False
    assert as_reviewer["may_decide"] is True
    assert as_reviewer["case"]["confirmed_by"] == analyst.username


def test_the_appeal_list_costs_the_same_queries_for_1_and_30_appeals(client, reviewer):
    client.force_login(reviewer)
    case_in(CaseState.APPEAL_REVIEW, appeal=True)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/appeals/").status_code == 200
    for _ in range(29):
        appeal = case_in(CaseState.APPEAL_REVIEW, appeal=True).appeal
        AppealEvidenceFactory.create_batch(2, appeal=appeal)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/api/v1/appeals/")
    assert response.json()["count"] == 30
    assert len(many) == len(one)


EVIDENCE_FIELDS = {
    "id",
    "original_name",
    "content_type",
    "size",
    "sha256",
    "uploaded_at",
    "download_url",
}


def test_the_appeal_list_and_detail_list_the_sellers_files(client_for, reviewer):
    appeal = case_in(CaseState.APPEAL_REVIEW, appeal=True).appeal
    invoice = AppealEvidenceFactory(appeal=appeal, original_name="invoice.pdf")
    photo = AppealEvidenceFactory(appeal=appeal, original_name="shop.png", content_type="image/png")
    client = client_for(reviewer)

    listed = client.get("/api/v1/appeals/").json()["results"][0]["evidence"]
    detail = client.get(f"/api/v1/appeals/{appeal.pk}/").json()["evidence"]

    assert listed == detail
    assert [item["id"] for item in detail] == [invoice.pk, photo.pk]
    first = detail[0]
    assert set(first) == EVIDENCE_FIELDS
    assert first["original_name"] == "invoice.pdf"
    assert first["content_type"] == "application/pdf"
    assert first["size"] == invoice.size
    assert first["sha256"] == invoice.sha256
    assert first["uploaded_at"] is not None
    path = reverse("workbench:appeal-evidence-file", args=[appeal.pk, invoice.pk])
    assert first["download_url"] == f"http://testserver{path}"


def test_an_appeal_without_files_has_an_empty_evidence_list(client_for, reviewer):
    appeal = case_in(CaseState.APPEAL_REVIEW, appeal=True).appeal

    assert client_for(reviewer).get(f"/api/v1/appeals/{appeal.pk}/").json()["evidence"] == []


def test_the_download_url_serves_the_file_to_a_signed_in_reviewer(client, client_for, reviewer):
    appeal = case_in(CaseState.APPEAL_REVIEW, appeal=True).appeal
    AppealEvidenceFactory(appeal=appeal, content=b"%PDF-1.4 the invoice")
    url = (
        client_for(reviewer)
        .get(f"/api/v1/appeals/{appeal.pk}/")
        .json()["evidence"][0]["download_url"]
    )
    client.force_login(reviewer)

    response = client.get(url)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 the invoice"


def test_the_decision_reply_lists_the_files_too(client_for, reviewer):
    case = case_in(CaseState.APPEAL_REVIEW, appeal=True)
    item = AppealEvidenceFactory(appeal=case.appeal)

    response = client_for(reviewer).post(
        decide_url(case.appeal),
        {"outcome": "granted", "reason": "invoice checks out"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert [entry["sha256"] for entry in response.json()["evidence"]] == [item.sha256]


def test_the_schema_documents_the_appeal_evidence(client_for, analyst):
    schema = client_for(analyst).get("/api/v1/schema/?format=json").json()["components"]["schemas"]

    evidence = schema["Appeal"]["properties"]["evidence"]
    assert evidence["type"] == "array"
    ref = evidence["items"]["$ref"].rsplit("/", 1)[-1]
    item = schema[ref]
    assert set(item["properties"]) == EVIDENCE_FIELDS
    assert item["properties"]["download_url"]["format"] == "uri"
    assert "workbench" in item["properties"]["download_url"]["description"]
    assert set(item["required"]) == EVIDENCE_FIELDS


def test_a_reviewer_denies_an_appeal(client_for, analyst, reviewer):
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)

    response = client_for(reviewer).post(
        decide_url(case.appeal), {"outcome": "denied", "reason": "receipts forged"}, format="json"
    )

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["outcome"] == AppealOutcome.DENIED
    assert data["decided_by"] == reviewer.username
    assert data["case"]["state"] == CaseState.REFERRAL_PENDING
    assert data["may_decide"] is False


def test_the_confirming_analyst_cannot_decide_the_appeal(client_for, analyst):
    # Given an appeal on a case the analyst confirmed
    case = case_in(CaseState.APPEAL_REVIEW, confirmed_by=analyst, appeal=True)
    before = state_of(case.pk)

    # When they try to grant it
    response = client_for(analyst).post(
        decide_url(case.appeal), {"outcome": "granted", "reason": "fine"}, format="json"
    )

    # Then 403, and the appeal is still pending with the case untouched
    assert response.status_code == 403
    assert state_of(case.pk) == before == (CaseState.APPEAL_REVIEW, 0, AppealOutcome.PENDING)


def test_an_already_decided_appeal_is_409_and_keeps_its_decision(client_for, reviewer):
    case = case_in(CaseState.REFERRAL_PENDING, appeal=True)
    Appeal.objects.filter(case=case).update(
        outcome=AppealOutcome.DENIED, decided_at=timezone.now() - timedelta(days=1)
    )
    before = state_of(case.pk)

    response = client_for(reviewer).post(
        decide_url(case.appeal), {"outcome": "granted", "reason": "second thoughts"}, format="json"
    )

    assert response.status_code == 409
    assert "already decided" in response.json()["detail"]
    assert state_of(case.pk) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "pending", "reason": "x"}, "outcome"),
        ({"outcome": "granted"}, "reason"),
        ({"outcome": "granted", "reason": ""}, "reason"),
        ({"reason": "x"}, "outcome"),
    ],
)
def test_a_bad_decision_body_is_a_400_and_changes_nothing(client_for, reviewer, body, field):
    case = case_in(CaseState.APPEAL_REVIEW, appeal=True)
    before = state_of(case.pk)

    response = client_for(reviewer).post(decide_url(case.appeal), body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert state_of(case.pk) == before


def test_brand_owners_may_not_read_appeals(client_for, brand_owner_user):
    case_in(CaseState.APPEAL_REVIEW, appeal=True)

    assert client_for(brand_owner_user).get("/api/v1/appeals/").status_code == 403
