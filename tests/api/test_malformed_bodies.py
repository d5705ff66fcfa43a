"""Bodies no client should send, but some will: each is a 400 that names the problem, and
nothing changes."""

import pytest

from counterfeits.choices import CaseState
from counterfeits.models import Case, Report
from tests.api.conftest import case_in, transition_url
from tests.factories import BrandMembershipFactory, ReportFactory

pytestmark = pytest.mark.django_db

# JSON nested deeper than Python's recursion limit: the standard parser fails with
# RecursionError, which is no ValueError and escaped DRF's "JSON parse error" (a 500).
DEEP_JSON = ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000]


@pytest.mark.parametrize("body", DEEP_JSON, ids=["array", "object"])
def test_json_nested_too_deep_is_a_400_and_opens_no_case(client_for, analyst, body):
    # Given a report an analyst could open a case from
    report = ReportFactory()

    # When the case is asked for with a body nested a hundred thousand levels deep
    response = client_for(analyst).post("/api/v1/cases/", body, content_type="application/json")

    # Then it is a parse error, and no case was opened
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not Case.objects.exists()
    assert Report.objects.get(pk=report.pk).case_id is None


@pytest.mark.parametrize("body", DEEP_JSON, ids=["array", "object"])
def test_json_nested_too_deep_is_a_400_on_a_transition_and_on_a_report(
    client_for, analyst, brand_owner_user, body
):
    # Given an open case, and a brand owner of a brand
    case = case_in(CaseState.OPEN)
    BrandMembershipFactory(user=brand_owner_user)
    reports = Report.objects.count()

    # When each endpoint gets the deep body
    confirm = client_for(analyst).post(
        transition_url(case, "confirm"), body, content_type="application/json"
    )
    report = client_for(brand_owner_user).post(
        "/api/v1/reports/", body, content_type="application/json"
    )

    # Then both are parse errors, and nothing changed
    assert (confirm.status_code, report.status_code) == (400, 400)
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN
    assert Report.objects.count() == reports
