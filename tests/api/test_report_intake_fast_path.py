"""POST /api/v1/reports/ with a plain JSON body skips the serializer layer, and answers the same.

``plain_report_data`` accepts a body only when ReportCreateSerializer would accept every value
unchanged; anything else goes through the serializer, whose field errors are the 400 body.
"""

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from counterfeits.api.serializers import (
    ReportCreateSerializer,
    ReportSerializer,
    plain_report_data,
)
from counterfeits.choices import IntakeMeasureKind, NoticeKind, ReportReason, ReportStatus
from counterfeits.intake import render_owed_notice, start_review
from counterfeits.models import IntakeMeasure, Notice, Report
from counterfeits.tasks import send_notice_task
from referrals.services import issue_token
from tests.factories import BrandFactory, BrandMembershipFactory, ListingFactory, SellerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


@pytest.fixture
def brand(brand_owner_user):
    return BrandMembershipFactory(user=brand_owner_user).brand


@pytest.fixture
def seller():
    return SellerFactory(company_name="")


def plain(for_brand, for_seller, /, **extra) -> dict:
    values = {
        "brand": for_brand.pk,
        "seller": for_seller.pk,
        "reason": ReportReason.COUNTERFEIT.value,  # as JSON gives it: a plain str
        "explanation": "  Test buy: wrong serial number, misspelt logo on the box.  ",
        "notifier_name": "Dana Brandt",
        "notifier_email": " dana@brand.example ",
        "good_faith": True,
    }
    values.update(extra)
    return {key: value for key, value in values.items() if value is not OMIT}


OMIT = object()


def drf_request(user) -> Request:
    request = Request(APIRequestFactory().post(URL))
    request.user = user
    return request


def serializer_for(data: dict, user) -> ReportCreateSerializer:
    return ReportCreateSerializer(data=data, context={"request": drf_request(user)})


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"seller": None, "listings": "LISTING"},
        {"seller": OMIT, "listings": "LISTING"},
        {"listings": "LISTING"},
        {"reason": ReportReason.values[-1], "unknown_field": "ignored"},
        {"explanation": "Ünïcode — “quoted” 偽物", "notifier_name": "x" * 200},
    ],
)
def test_a_plain_body_gives_what_the_serializer_validates(brand_owner_user, brand, seller, extra):
    # Given a plain JSON report (listings of the seller where asked)
    if extra.get("listings") == "LISTING":
        extra = {**extra, "listings": [ListingFactory(seller=seller, product__brand=brand).pk]}
    data = plain(brand, seller, **extra)

    # When the fast path and the serializer read it
    fast = plain_report_data(data, drf_request(brand_owner_user))
    body = serializer_for(data, brand_owner_user)
    assert body.is_valid(), body.errors

    # Then they give the same validated data, brand annotated with its intake state
    assert fast == dict(body.validated_data)
    assert fast["brand"].intake_suspended is False


def test_the_201_of_a_plain_body_is_what_the_serializer_and_a_later_read_give(
    client_for, brand_owner_user, brand, seller
):
    # Given a listing of the seller
    listing = ListingFactory(seller=seller, product__brand=brand)

    # When the brand owner files a plain JSON report (one the fast path takes)
    body = plain(brand, seller, listings=[listing.pk])
    assert plain_report_data(body, drf_request(brand_owner_user)) is not None
    client = client_for(brand_owner_user)
    created = client.post(URL, body, format="json")

    # Then the written-out 201 body is the documented serializer's, and a later read's
    assert created.status_code == 201, created.content
    data = created.json()
    report = Report.objects.get(pk=data["id"])
    assert data == client.get(f"{URL}{report.pk}/").json()
    assert data == ReportSerializer(report).data
    assert data["explanation"] == "Test buy: wrong serial number, misspelt logo on the box."
    assert data["seller"]["display_name"] == seller.name
    assert data["listings"] == [listing.pk]


def test_a_bearer_token_files_a_plain_report(api_client, brand_owner_user, brand, seller):
    # Given the brand owner's API token
    _, raw = issue_token(user=brand_owner_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    # When its system files a plain report
    created = api_client.post(URL, plain(brand, seller), format="json")

    # Then it is filed and the received notice is owed
    assert created.status_code == 201, created.content
    notice = Notice.objects.get(report_id=created.json()["id"])
    assert notice.kind == NoticeKind.REPORT_STATUS
    assert notice.sent_at is None


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"brand": OMIT}, "brand"),
        ({"brand": None}, "brand"),
        ({"brand": "abc"}, "brand"),
        ({"brand": True}, "brand"),
        ({"brand": 2**63}, "brand"),
        ({"brand": "OTHER"}, "brand"),
        ({"brand": "GONE_BRAND"}, "brand"),
        ({"seller": "GONE"}, "seller"),
        ({"seller": "x"}, "seller"),
        ({"listings": "1"}, "listings"),
        ({"listings": [0]}, "listings"),
        ({"listings": [True]}, "listings"),
        ({"listings": list(range(1, 202))}, "listings"),
        ({"reason": "nonsense"}, "reason"),
        ({"reason": OMIT}, "reason"),
        ({"explanation": "   "}, "explanation"),
        ({"explanation": "x" * 10001}, "explanation"),
        ({"explanation": "nul\x00here"}, "explanation"),
        ({"explanation": "lone \ud800 surrogate"}, "explanation"),
        ({"explanation": 12}, None),  # CharField takes a number: the serializer decides
        ({"notifier_name": "n" * 201}, "notifier_name"),
        ({"notifier_email": "not-an-address"}, "notifier_email"),
        ({"notifier_email": None}, "notifier_email"),
        ({"good_faith": "maybe"}, "good_faith"),
        ({"good_faith": OMIT}, "good_faith"),
        ({"good_faith": "true"}, None),  # valid for the serializer, not plain: same answer
        ({"evidence_kind": ["photo"]}, "evidence_kind"),
        ({"evidence": []}, None),
    ],
)
def test_anything_not_plain_is_answered_by_the_serializer(
    client_for, brand_owner_user, brand, seller, extra, field
):
    # Given a body the fast path does not take (ids made real where the case needs them)
    gone, gone_brand = SellerFactory(), BrandFactory()
    # another brand's; a deleted seller's; a deleted brand's (ids of their own tables: a deleted
    # seller's id may well be a brand that exists)
    ids = {"OTHER": BrandFactory().pk, "GONE": gone.pk, "GONE_BRAND": gone_brand.pk}
    gone.delete()
    gone_brand.delete()
    extra = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in extra.items()
    }
    data = plain(brand, seller, **extra)
    request = drf_request(brand_owner_user)

    # When it is posted
    assert plain_report_data(data, request) is None
    expected = serializer_for(data, brand_owner_user)
    valid = expected.is_valid()
    response = client_for(brand_owner_user).post(  # escaped JSON: a lone surrogate travels
        URL, json.dumps(data), content_type="application/json"
    )

    # Then the answer is the serializer's: its field errors as the 400 body, or a 201
    if valid:
        assert field is None
        assert response.status_code == 201, response.content
    else:
        assert response.status_code == 400
        assert response.json() == json.loads(JSONRenderer().render(expected.errors))
        assert field in response.json()
        assert not Report.objects.exists()


def test_a_suspended_brand_is_refused_on_the_fast_path(client_for, brand_owner_user, brand, seller):
    # Given a suspension of the brand's intake in force
    now = timezone.now()
    IntakeMeasure.objects.create(
        brand=brand,
        kind=IntakeMeasureKind.SUSPENSION,
        reason="Too many unfounded reports.",
        unfounded_count=5,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=29),
    )

    # When a plain report is filed
    response = client_for(brand_owner_user).post(URL, plain(brand, seller), format="json")

    # Then it is refused with the Art. 23 answer and nothing is filed
    assert response.status_code == 409
    assert response.json()["code"] == "intake_suspended"
    assert not Report.objects.exists()
    assert not Notice.objects.exists()


def test_the_received_notice_is_rendered_when_sent_and_records_what_was_sent(
    client_for, brand_owner_user, brand, seller, analyst
):
    # Given a report filed through the API, taken into review before its notice went out
    created = client_for(brand_owner_user).post(URL, plain(brand, seller), format="json")
    report = Report.objects.get(pk=created.json()["id"])
    received = Notice.objects.get(report=report)
    assert received.body == ""
    start_review(report.pk, actor=analyst)

    # When the worker sends the received notice
    mail.outbox.clear()
    assert send_notice_task(received.pk)

    # Then it says "received" (its own status), and the row holds exactly what was sent
    received.refresh_from_db()
    [sent] = [m for m in mail.outbox if m.subject == received.subject]
    assert "RECEIVED" in sent.body
    assert "IN REVIEW" not in sent.body
    assert sent.body == received.body
    assert sent.alternatives[0][0] == received.html_body
    assert received.sent_at is not None
    assert Report.objects.get(pk=report.pk).status == ReportStatus.IN_REVIEW


def test_a_notice_rendered_already_is_not_rendered_again(
    client_for, brand_owner_user, brand, seller
):
    # Given a received notice whose content a first worker stored
    created = client_for(brand_owner_user).post(URL, plain(brand, seller), format="json")
    notice = Notice.objects.get(report_id=created.json()["id"])
    first = render_owed_notice(notice)
    Notice.objects.filter(pk=notice.pk).update(body="as first sent")

    # When a second worker holding the unrendered row renders it
    notice.body = ""
    second = render_owed_notice(notice)

    # Then it keeps the stored content
    assert first.body
    assert second.body == "as first sent"
