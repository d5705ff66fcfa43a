"""Brand registration with trademarks, analyst verification, and the notifier-quality lane."""

import pytest
from django.urls import reverse
from django.utils import timezone

from counterfeits.choices import ReportStatus
from counterfeits.intake import notifier_quality
from counterfeits.models import Brand, BrandMembership, Trademark
from counterfeits.services import open_case
from tests.factories import BrandFactory, ListingFactory, ReportFactory, SellerFactory

pytestmark = pytest.mark.django_db


def test_brand_owner_registers_a_brand_with_trademarks(client, brand_owner_user):
    client.force_login(brand_owner_user)
    data = {
        "name": "Cirrus Optics",
        "tm-TOTAL_FORMS": "3",
        "tm-INITIAL_FORMS": "0",
        "tm-0-office": "USPTO",
        "tm-0-number": "5123456",
        "tm-0-classes": "9",
        "tm-1-office": "EUIPO",
        "tm-1-number": "018234567",
        "tm-1-classes": "25, 9",
        "tm-2-office": "",
        "tm-2-number": "",
        "tm-2-classes": "",
    }

    response = client.post(reverse("portal:brand_new"), data)

    brand = Brand.objects.get(name="Cirrus Optics")
    assert response.status_code == 302
    assert not brand.verified
    assert BrandMembership.objects.filter(brand=brand, user=brand_owner_user).exists()
    assert set(brand.trademarks.values_list("office", "number", "classes")) == {
        ("USPTO", "5123456", "9"),
        ("EUIPO", "018234567", "9, 25"),
    }


@pytest.mark.parametrize("classes", ["²", "9, ²"])
def test_nice_classes_in_other_digits_are_refused_and_nothing_is_created(
    client, brand_owner_user, classes
):
    client.force_login(brand_owner_user)
    data = {
        "name": "Cirrus Optics",
        "tm-TOTAL_FORMS": "1",
        "tm-INITIAL_FORMS": "0",
        "tm-0-office": "USPTO",
        "tm-0-number": "5123456",
        "tm-0-classes": classes,
    }

    response = client.post(reverse("portal:brand_new"), data)

    assert response.status_code == 400
    assert "Nice classes are numbers 1 to 45" in response.content.decode()
    assert not Brand.objects.filter(name="Cirrus Optics").exists()
    assert not Trademark.objects.filter(number="5123456").exists()


def test_a_trademark_already_registered_is_refused_and_nothing_is_created(
    client, brand_owner_user, brand
):
    Trademark.objects.create(brand=brand, office="USPTO", number="5123456")
    client.force_login(brand_owner_user)
    data = {
        "name": "Copycat",
        "tm-TOTAL_FORMS": "1",
        "tm-INITIAL_FORMS": "0",
        "tm-0-office": "USPTO",
        "tm-0-number": "5123456",
        "tm-0-classes": "9",
    }

    response = client.post(reverse("portal:brand_new"), data)

    assert response.status_code == 400
    assert "USPTO 5123456 is already registered" in response.content.decode()
    assert not Brand.objects.filter(name="Copycat").exists()


def test_analyst_verifies_a_brand_and_a_brand_owner_may_not(client, analyst, brand_owner_user):
    brand = BrandFactory(name="Unverified Co")
    client.force_login(brand_owner_user)
    refused = client.post(reverse("portal:analyst_verify_brand", args=[brand.pk]))
    brand.refresh_from_db()
    assert refused.status_code == 403
    assert not brand.verified

    client.force_login(analyst)
    client.post(reverse("portal:analyst_verify_brand", args=[brand.pk]))

    brand.refresh_from_db()
    assert brand.verified
    assert brand.verified_by == analyst
    assert brand.verified_at is not None


def _decided(brand, status, n):
    for _ in range(n):
        ReportFactory(brand=brand, status=status, decided_at=timezone.now())


def test_acceptance_rate_counts_action_taken_over_decided_reports_and_is_shown(
    client, owner, brand
):
    _decided(brand, ReportStatus.ACTION_TAKEN, 9)
    _decided(brand, ReportStatus.REJECTED, 1)
    ReportFactory(brand=brand)  # undecided: not counted

    quality = notifier_quality(brand)
    client.force_login(owner)
    page = client.get(reverse("portal:brand_detail", args=[brand.pk])).content.decode()

    assert (quality.accepted, quality.decided, quality.percent) == (9, 10, 90)
    assert "<strong>90%</strong>" in page


def _case_from_new_report(brand, analyst):
    seller = SellerFactory()
    report = ReportFactory(
        brand=brand, seller=seller, listings=[ListingFactory(seller=seller, product__brand=brand)]
    )
    return open_case(report_ids=[report.pk], actor=analyst)


def test_verified_accurate_brand_and_trusted_flagger_go_to_the_priority_lane(analyst, brand):
    accurate = brand  # verified
    _decided(accurate, ReportStatus.ACTION_TAKEN, 9)
    _decided(accurate, ReportStatus.REJECTED, 1)
    sloppy = BrandFactory(verified=True)
    _decided(sloppy, ReportStatus.ACTION_TAKEN, 8)
    _decided(sloppy, ReportStatus.REJECTED, 2)
    unverified = BrandFactory(verified=False)
    _decided(unverified, ReportStatus.ACTION_TAKEN, 10)
    flagger = BrandFactory(trusted_flagger=True)

    assert _case_from_new_report(accurate, analyst).priority == 1
    assert _case_from_new_report(sloppy, analyst).priority == 0
    assert _case_from_new_report(unverified, analyst).priority == 0
    assert _case_from_new_report(flagger, analyst).priority == 2
