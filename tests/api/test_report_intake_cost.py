"""POST /api/v1/reports/ answers with the report as filed, at a cost that does not grow with it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counterfeits.choices import NoticeKind, ReportReason
from counterfeits.models import Notice, Report
from outbox.models import OutboxMessage
from tests.factories import BrandMembershipFactory, ListingFactory, SellerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


@pytest.fixture
def brand(brand_owner_user):
    return BrandMembershipFactory(user=brand_owner_user).brand


def body(brand, **extra) -> dict:
    values = {
        "brand": brand.pk,
        "reason": ReportReason.COUNTERFEIT,
        "explanation": "Test buy: wrong serial number, misspelt logo on the box.",
        "notifier_name": "Dana Brandt",
        "notifier_email": "dana@brand.example",
        "good_faith": "true",
    }
    values.update(extra)
    return values


def test_the_created_answer_is_the_report_as_read_back(client_for, brand_owner_user, brand):
    # Given two listings of one seller and a photo of the test buy
    seller = SellerFactory()
    listings = [ListingFactory(seller=seller, product__brand=brand) for _ in range(2)]
    client = client_for(brand_owner_user)

    # When the brand owner files a report on them with the photo
    created = client.post(
        URL,
        body(
            brand,
            listings=[x.pk for x in listings],
            evidence=[SimpleUploadedFile("buy.jpg", JPEG_BYTES, content_type="image/jpeg")],
        ),
        format="multipart",
    )

    # Then the 201 body is exactly what reading the report gives afterwards
    assert created.status_code == 201, created.content
    data = created.json()
    assert data == client.get(f"{URL}{data['id']}/").json()
    assert sorted(data["listings"]) == sorted(x.pk for x in listings)
    assert data["seller"]["id"] == seller.pk
    assert len(data["evidence"]) == 1
    # and the notifier is owed exactly one "received" e-mail, through the outbox
    notice = Notice.objects.get(report_id=data["id"])
    assert notice.kind == NoticeKind.REPORT_STATUS
    assert notice.dedupe_key == f"report:{data['id']}:received"
    assert OutboxMessage.objects.filter(
        task="counterfeits.tasks.send_notice_task", args=[notice.pk]
    ).exists()


def test_filing_costs_the_same_queries_for_one_and_five_listings(
    client_for, brand_owner_user, brand
):
    # Given a seller with five listings
    seller = SellerFactory()
    listings = [ListingFactory(seller=seller, product__brand=brand) for _ in range(5)]
    client = client_for(brand_owner_user)

    def file(count: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                URL, body(brand, listings=[x.pk for x in listings[:count]]), format="json"
            )
        assert response.status_code == 201, response.content
        return len(queries)

    file(1)  # warm-up: the user's roles are read once per user object

    # When one report names one listing and another names five
    one, five = file(1), file(5)

    # Then both cost the same number of queries
    assert one == five
    assert Report.objects.count() == 3
