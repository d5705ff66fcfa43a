"""Authority clients (bearer tokens of an authority) get nothing from the analyst/brand API."""

import pytest
from rest_framework.test import APIClient

from appeals.models import Appeal
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent, Report
from referrals.services import issue_token
from tests.api.conftest import case_in
from tests.factories import AuthorityFactory, ReportFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/api/v1/reports/"),
    ("get", "/api/v1/reports/{report}/"),
    ("post", "/api/v1/reports/"),
    ("get", "/api/v1/cases/"),
    ("get", "/api/v1/cases/{case}/"),
    ("post", "/api/v1/cases/"),
    ("post", "/api/v1/cases/{case}/transitions/deny_appeal/"),
    ("get", "/api/v1/appeals/"),
    ("get", "/api/v1/appeals/{appeal}/"),
    ("post", "/api/v1/appeals/{appeal}/decide/"),
    ("get", "/api/v1/sellers/"),
    ("get", "/api/v1/sellers/{seller}/"),
    ("get", "/api/v1/listings/"),
]


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_an_authority_token_is_refused_on_analyst_and_brand_endpoints(reviewer, method, path):
    # Given a case with an appeal under review, its report, and an authority's token
    case = case_in(CaseState.APPEAL_REVIEW, appeal=True)
    report = ReportFactory(brand=case.brand, seller=case.seller)
    _, raw = issue_token(authority=AuthorityFactory())
    url = path.format(report=report.pk, case=case.pk, appeal=case.appeal.pk, seller=case.seller_id)
    body = {
        "report_ids": [report.pk],
        "outcome": "denied",
        "reason": "x",
        "brand": case.brand_id,
        "seller": case.seller_id,
        "explanation": "x",
        "notifier_name": "x",
        "notifier_email": "x@example.com",
        "good_faith": True,
    }

    # When the authority calls the endpoint
    response = getattr(bearer(raw), method)(url, body, format="json")

    # Then it is refused, shows no data, and nothing changed
    assert response.status_code in (403, 404)
    text = response.content.decode()
    assert case.seller.email not in text
    assert case.seller.name not in text
    assert "results" not in text
    assert Case.objects.get(pk=case.pk).state == CaseState.APPEAL_REVIEW
    assert CaseEvent.objects.filter(case=case).count() == 0
    assert Appeal.objects.get(case=case).outcome == "pending"
    assert Case.objects.count() == 1
    assert Report.objects.count() == 1


def test_an_analysts_own_bearer_token_works(analyst):
    case_in(CaseState.OPEN)
    _, raw = issue_token(user=analyst)

    response = bearer(raw).get("/api/v1/cases/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_an_unauthenticated_caller_is_refused(db):
    assert APIClient().get("/api/v1/cases/").status_code in (401, 403)
