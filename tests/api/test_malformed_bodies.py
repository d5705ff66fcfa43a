"""Bodies no client should send, but some will: each is a 400 that names the problem, and
nothing changes."""

import json

import pytest

from appeals.choices import AppealOutcome
from appeals.models import Appeal
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


@pytest.mark.parametrize("depth", [600, 900])
def test_a_value_nested_deep_enough_to_parse_but_not_to_use_is_a_400(
    client_for, brand_owner_user, depth
):
    # Given a body Python's parser still reads (under its ~1,000 levels), whose "brand" is a
    # list nested hundreds deep: the database lookup recursed through it and failed (a 500)
    BrandMembershipFactory(user=brand_owner_user)
    body = '{"brand": ' + "[" * depth + "1" + "]" * depth + ', "reason": "counterfeit"}'

    response = client_for(brand_owner_user).post(
        "/api/v1/reports/", body, content_type="application/json"
    )

    # Then it is refused as malformed, and nothing was filed
    assert response.status_code == 400, response.content
    assert "nested" in response.json()["detail"]
    assert not Report.objects.exists()


def test_a_choice_that_is_a_lone_surrogate_is_a_400_naming_the_field(
    client_for, reviewer, brand_owner_user
):
    # Given an appeal to decide, and a brand owner of a brand
    appeal = case_in(CaseState.APPEAL_REVIEW, appeal=True).appeal
    brand = BrandMembershipFactory(user=brand_owner_user).brand
    reports = Report.objects.count()

    # When a choice arrives as a JSON-escaped lone surrogate (valid JSON, but no text that UTF-8
    # can carry: DRF's "is not a valid choice" message quoted it, and rendering that failed)
    decided = client_for(reviewer).post(
        f"/api/v1/appeals/{appeal.pk}/decide/",
        json.dumps({"outcome": "grant\ud800", "reason": "Genuine goods."}),
        content_type="application/json",
    )
    filed = client_for(brand_owner_user).post(
        "/api/v1/reports/",
        json.dumps(
            {
                "brand": brand.pk,
                "reason": "\ud800",
                "explanation": "Fake.",
                "notifier_name": "Dana",
                "notifier_email": "dana@brand.example",
                "good_faith": True,
            }
        ),
        content_type="application/json",
    )

    # Then each is a 400 naming the field, and nothing was decided or filed
    assert decided.status_code == 400
    assert list(decided.json()) == ["outcome"]
    assert filed.status_code == 400
    assert list(filed.json()) == ["reason"]
    assert Appeal.objects.get(pk=appeal.pk).outcome == AppealOutcome.PENDING
    assert Report.objects.count() == reports
