"""The workbench's dismiss form: an optional "manifestly unfounded" finding (DSA Art. 23)."""

import pytest
from django.urls import reverse

from counterfeits.choices import CaseState, IntakeMeasureKind, ReportStatus
from counterfeits.models import Case, CaseEvent, IntakeMeasure, Report
from counterfeits.services import open_case
from tests.factories import BrandFactory, ListingFactory, ReportFactory, SellerFactory

pytestmark = pytest.mark.django_db


def case_from_reports(brand, analyst, *, reports: int = 2) -> Case:
    seller = SellerFactory()
    listing = ListingFactory(seller=seller, product__brand=brand)
    ids = [ReportFactory(brand=brand, seller=seller, listings=[listing]).pk for _ in range(reports)]
    return open_case(report_ids=ids, actor=analyst)


def dismiss_url(case: Case) -> str:
    return reverse("workbench:case-transition", args=[case.pk, "dismiss"])


def test_the_dismiss_form_offers_the_manifestly_unfounded_checkbox(analyst_client, analyst):
    case = case_from_reports(BrandFactory(), analyst)

    page = analyst_client.get(dismiss_url(case)).content.decode()

    assert 'name="manifestly_unfounded"' in page
    assert 'type="checkbox"' in page
    assert "manifestly unfounded" in page


def test_the_confirm_form_has_no_manifestly_unfounded_checkbox(analyst_client, analyst):
    case = case_from_reports(BrandFactory(), analyst)

    url = reverse("workbench:case-transition", args=[case.pk, "confirm"])
    page = analyst_client.get(url).content.decode()

    assert 'name="manifestly_unfounded"' not in page


def test_ticking_manifestly_unfounded_marks_the_reports_and_warns_the_brand(
    analyst_client, analyst, settings
):
    # Given a brand whose two reports would earn a warning if found manifestly unfounded
    settings.UNFOUNDED_WARNING_AFTER = 2
    brand = BrandFactory()
    case = case_from_reports(brand, analyst, reports=2)

    # When the analyst dismisses the case with the box ticked
    response = analyst_client.post(
        dismiss_url(case),
        {
            "reason": "The listings sell another brand entirely.",
            "manifestly_unfounded": "on",
            "confirmed": "on",
        },
    )

    # Then the case is dismissed, both reports are manifestly unfounded, and the brand is warned
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.DISMISSED
    assert set(Report.objects.filter(case=case).values_list("status", "manifestly_unfounded")) == {
        (ReportStatus.REJECTED, True)
    }
    assert IntakeMeasure.objects.get(brand=brand).kind == IntakeMeasureKind.WARNING


def test_dismissing_without_the_box_does_not_count_against_the_brand(
    analyst_client, analyst, settings
):
    settings.UNFOUNDED_WARNING_AFTER = 1
    case = case_from_reports(BrandFactory(), analyst)

    response = analyst_client.post(
        dismiss_url(case), {"reason": "Not enough evidence to act.", "confirmed": "on"}
    )

    assert response.status_code == 302
    assert set(Report.objects.filter(case=case).values_list("status", "manifestly_unfounded")) == {
        (ReportStatus.REJECTED, False)
    }
    assert not IntakeMeasure.objects.exists()


def test_a_dismissal_without_the_confirmation_tick_marks_nothing(analyst_client, analyst, settings):
    settings.UNFOUNDED_WARNING_AFTER = 1
    case = case_from_reports(BrandFactory(), analyst)
    events = CaseEvent.objects.filter(case=case).count()

    response = analyst_client.post(
        dismiss_url(case), {"reason": "Baseless reports.", "manifestly_unfounded": "on"}
    )

    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).state == CaseState.OPEN
    assert CaseEvent.objects.filter(case=case).count() == events
    assert not Report.objects.filter(manifestly_unfounded=True).exists()
    assert not IntakeMeasure.objects.exists()
