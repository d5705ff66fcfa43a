"""Ring-detection alerts are analysts' leads: the brand owner's portal never shows them."""

import pytest
from django.urls import reverse

from counterfeits.choices import ReportReason
from tests.factories import ReportFactory, SellerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ring_alert(brand):
    """What ring detection files for the brand of a closed counterfeiter's case."""
    return ReportFactory(
        brand=brand,
        reporter=None,
        seller=SellerFactory(name="Maybe Innocent", company_name="Maybe Innocent Ltd"),
        reason=ReportReason.LINKED_TO_CLOSED_SELLER,
        notifier_name="Touchstone ring detection",
        explanation="This seller shares identifiers with seller #1: Phone +49*******89.",
    )


def test_a_brand_owner_does_not_see_ring_alerts_on_their_brand(client, owner, brand, ring_alert):
    own = ReportFactory(brand=brand, reporter=owner)
    client.force_login(owner)

    listed = client.get(reverse("portal:report_list"))
    dashboard = client.get(reverse("portal:dashboard"))
    detail = client.get(reverse("portal:report_detail", args=[ring_alert.pk]))

    assert [report.pk for report in listed.context["page"]] == [own.pk]
    assert b"Maybe Innocent" not in listed.content
    assert b"Maybe Innocent" not in dashboard.content
    assert detail.status_code == 404


def test_an_analyst_still_triages_a_ring_alert_in_the_portal(client, analyst, ring_alert):
    client.force_login(analyst)

    response = client.get(reverse("portal:analyst_report", args=[ring_alert.pk]))

    assert response.status_code == 200
    assert b"Maybe Innocent" in response.content
