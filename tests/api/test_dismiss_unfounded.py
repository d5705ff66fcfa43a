"""POST /api/v1/cases/{id}/transitions/dismiss/ with ``manifestly_unfounded`` (DSA Art. 23)."""

import pytest

from counterfeits.choices import CaseState, IntakeMeasureKind, NoticeKind, ReportStatus
from counterfeits.intake import reject_report
from counterfeits.models import Case, CaseEvent, IntakeMeasure, Notice, Report
from counterfeits.services import open_case
from tests.api.conftest import transition_url
from tests.factories import BrandFactory, ListingFactory, ReportFactory, SellerFactory

pytestmark = pytest.mark.django_db


def case_from_reports(brand, analyst, *, reports: int = 2) -> Case:
    """An open case made from ``reports`` reports of ``brand`` on one seller."""
    seller = SellerFactory()
    listing = ListingFactory(seller=seller, product__brand=brand)
    ids = [ReportFactory(brand=brand, seller=seller, listings=[listing]).pk for _ in range(reports)]
    return open_case(report_ids=ids, actor=analyst)


def reject_unfounded(brand, analyst, n: int) -> None:
    for _ in range(n):
        report = ReportFactory(brand=brand)
        reject_report(report.pk, actor=analyst, reason="Not this brand.", manifestly_unfounded=True)


def test_dismissing_as_manifestly_unfounded_marks_every_report_of_the_case(client_for, analyst):
    # Given an open case from two reports
    case = case_from_reports(BrandFactory(), analyst)

    # When the analyst dismisses it as manifestly unfounded
    response = client_for(analyst).post(
        transition_url(case, "dismiss"),
        {"reason": "The listings sell another brand.", "manifestly_unfounded": True},
        format="json",
    )

    # Then the case is dismissed and its reports are rejected as manifestly unfounded
    assert response.status_code == 200, response.content
    assert response.json()["state"] == CaseState.DISMISSED
    reports = Report.objects.filter(case=case)
    assert {(r.status, r.manifestly_unfounded) for r in reports} == {(ReportStatus.REJECTED, True)}
    assert all(r.decided_at is not None for r in reports)
    event = CaseEvent.objects.filter(case=case, transition="dismiss").get()
    assert "manifestly unfounded" in event.reason


def test_a_plain_dismissal_rejects_the_reports_without_counting_them(client_for, analyst):
    brand = BrandFactory()
    case = case_from_reports(brand, analyst)

    response = client_for(analyst).post(
        transition_url(case, "dismiss"), {"reason": "Not enough to act on."}, format="json"
    )

    assert response.status_code == 200, response.content
    assert set(Report.objects.filter(case=case).values_list("status", "manifestly_unfounded")) == {
        (ReportStatus.REJECTED, False)
    }
    assert not IntakeMeasure.objects.exists()


def test_an_unfounded_dismissal_counts_towards_the_brands_art23_warning(
    client_for, analyst, settings
):
    # Given a brand one manifestly unfounded report short of a warning
    settings.UNFOUNDED_WARNING_AFTER = 3
    brand = BrandFactory()
    reject_unfounded(brand, analyst, 1)
    case = case_from_reports(brand, analyst, reports=2)
    assert not IntakeMeasure.objects.exists()

    # When a case of two of its reports is dismissed as manifestly unfounded
    response = client_for(analyst).post(
        transition_url(case, "dismiss"),
        {"reason": "Genuine goods, the brand's own distributor.", "manifestly_unfounded": True},
        format="json",
    )

    # Then the brand is warned, counting all three, and its notifiers are told
    assert response.status_code == 200, response.content
    warning = IntakeMeasure.objects.get(brand=brand)
    assert warning.kind == IntakeMeasureKind.WARNING
    assert warning.unfounded_count == 3
    assert warning.created_by == analyst
    assert Notice.objects.filter(brand=brand, kind=NoticeKind.INTAKE_WARNING).exists()


def test_after_a_warning_unfounded_dismissals_suspend_the_intake(client_for, analyst, settings):
    # Given a warned brand
    settings.UNFOUNDED_WARNING_AFTER = 1
    settings.UNFOUNDED_SUSPENSION_AFTER = 2
    brand = BrandFactory()
    reject_unfounded(brand, analyst, 1)
    assert IntakeMeasure.objects.get(brand=brand).kind == IntakeMeasureKind.WARNING
    case = case_from_reports(brand, analyst, reports=2)

    # When a case of two more of its reports is dismissed as manifestly unfounded
    response = client_for(analyst).post(
        transition_url(case, "dismiss"),
        {"reason": "Baseless again.", "manifestly_unfounded": True},
        format="json",
    )

    # Then its intake is suspended
    assert response.status_code == 200, response.content
    assert IntakeMeasure.objects.filter(brand=brand, kind=IntakeMeasureKind.SUSPENSION).exists()


def test_manifestly_unfounded_on_another_transition_is_refused_and_changes_nothing(
    client_for, analyst
):
    case = case_from_reports(BrandFactory(), analyst)
    events = CaseEvent.objects.filter(case=case).count()

    response = client_for(analyst).post(
        transition_url(case, "confirm"),
        {"reason": "Fakes.", "manifestly_unfounded": True},
        format="json",
    )

    assert response.status_code == 400
    assert "manifestly_unfounded" in response.json()
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN
    assert CaseEvent.objects.filter(case=case).count() == events
    assert not Report.objects.filter(case=case, manifestly_unfounded=True).exists()


def test_a_refused_unfounded_dismissal_marks_nothing_and_counts_nothing(
    client_for, analyst, settings
):
    # Given a case that is no longer open, of a brand one report short of a warning
    settings.UNFOUNDED_WARNING_AFTER = 1
    brand = BrandFactory()
    case = case_from_reports(brand, analyst, reports=1)
    Case.objects.filter(pk=case.pk).update(state=CaseState.CONFIRMED)
    events = CaseEvent.objects.filter(case=case).count()

    # When it is dismissed as manifestly unfounded
    response = client_for(analyst).post(
        transition_url(case, "dismiss"),
        {"reason": "Baseless.", "manifestly_unfounded": True},
        format="json",
    )

    # Then the dismissal is refused and nothing changed
    assert response.status_code == 409
    assert Case.objects.get(pk=case.pk).state == CaseState.CONFIRMED
    assert CaseEvent.objects.filter(case=case).count() == events
    assert set(Report.objects.filter(case=case).values_list("status", "manifestly_unfounded")) == {
        (ReportStatus.CASE_OPENED, False)
    }
    assert not IntakeMeasure.objects.exists()


def test_manifestly_unfounded_must_be_a_boolean(client_for, analyst):
    case = case_from_reports(BrandFactory(), analyst)

    response = client_for(analyst).post(
        transition_url(case, "dismiss"),
        {"reason": "Baseless.", "manifestly_unfounded": "perhaps"},
        format="json",
    )

    assert response.status_code == 400
    assert "manifestly_unfounded" in response.json()
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN


def test_the_schema_documents_manifestly_unfounded_on_transitions(client_for, analyst):
    schema = client_for(analyst).get("/api/v1/schema/?format=json").json()

    field = schema["components"]["schemas"]["TransitionRequest"]["properties"][
        "manifestly_unfounded"
    ]
    assert field["type"] == "boolean"
    assert "Art. 23" in field["description"]
