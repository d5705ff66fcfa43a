"""POST /api/v1/reports/ with evidence files (multipart/form-data), checked by content."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from counterfeits.choices import EvidenceKind, ReportReason
from counterfeits.models import Evidence, IdempotencyRecord, Report
from tests.factories import BrandMembershipFactory, EvidenceFactory, ListingFactory, ReportFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"
# Content decides the type: a JPEG starts with FF D8 FF, a PDF with %PDF-.
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF_BYTES = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
HTML_BYTES = b"<!doctype html><html><script>alert(1)</script></html>"


@pytest.fixture
def brand(brand_owner_user):
    return BrandMembershipFactory(user=brand_owner_user).brand


@pytest.fixture
def listing(brand):
    return ListingFactory(product__brand=brand)


@pytest.fixture
def vendor(client_for, brand_owner_user):
    return client_for(brand_owner_user)


def upload(name: str, content: bytes, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def form(brand, listing, **extra) -> dict:
    body = {
        "brand": brand.pk,
        "listings": [listing.pk],
        "reason": ReportReason.COUNTERFEIT,
        "explanation": "Test buy 2024-118: counterfeit hologram, wrong serial range.",
        "notifier_name": "Vendor Bot",
        "notifier_email": "bot@protection.example",
        "good_faith": "true",
    }
    body.update(extra)
    return body


def stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_evidence_file_is_stored_under_its_sha256_with_the_report(vendor, brand, listing):
    # Given a photo of the test buy
    # When the vendor files a report with it as multipart/form-data
    response = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("buy.jpg", JPEG_BYTES)]),
        format="multipart",
    )

    # Then the report is filed with the evidence, its digest stored and shown
    assert response.status_code == 201, response.content
    digest = hashlib.sha256(JPEG_BYTES).hexdigest()
    evidence = Evidence.objects.get(report_id=response.json()["id"])
    assert evidence.sha256 == digest
    assert evidence.content_type == "image/jpeg"
    assert evidence.size == len(JPEG_BYTES)
    assert evidence.kind == EvidenceKind.PHOTO
    assert evidence.description == "buy.jpg"
    with evidence.file.open("rb") as handle:
        assert handle.read() == JPEG_BYTES
    shown = response.json()["evidence"]
    assert [(e["sha256"], e["kind"], e["content_type"]) for e in shown] == [
        (digest, EvidenceKind.PHOTO, "image/jpeg")
    ]


def test_each_file_gets_its_own_kind_and_description_in_order(vendor, brand, listing):
    response = vendor.post(
        URL,
        form(
            brand,
            listing,
            evidence=[
                upload("receipt.pdf", PDF_BYTES, "application/pdf"),
                upload("a.jpg", JPEG_BYTES),
            ],
            evidence_kind=[EvidenceKind.TEST_BUY, EvidenceKind.PHOTO],
            evidence_description=["Order 118 receipt", "Fake next to genuine"],
        ),
        format="multipart",
    )

    assert response.status_code == 201, response.content
    stored = list(
        Evidence.objects.filter(report_id=response.json()["id"])
        .order_by("id")
        .values_list("kind", "description", "content_type")
    )
    assert stored == [
        (EvidenceKind.TEST_BUY, "Order 118 receipt", "application/pdf"),
        (EvidenceKind.PHOTO, "Fake next to genuine", "image/jpeg"),
    ]


def test_one_kind_and_description_apply_to_every_file(vendor, brand, listing):
    response = vendor.post(
        URL,
        form(
            brand,
            listing,
            evidence=[upload("1.jpg", JPEG_BYTES), upload("2.jpg", JPEG_BYTES + b"\x01")],
            evidence_kind=[EvidenceKind.SCREENSHOT],
            evidence_description=["Listing screenshots"],
        ),
        format="multipart",
    )

    assert response.status_code == 201, response.content
    stored = set(
        Evidence.objects.filter(report_id=response.json()["id"]).values_list("kind", "description")
    )
    assert stored == {(EvidenceKind.SCREENSHOT, "Listing screenshots")}
    assert Evidence.objects.filter(report_id=response.json()["id"]).count() == 2


def test_html_named_jpg_is_refused_and_nothing_is_filed(vendor, brand, listing, settings):
    # Given an HTML page renamed to .jpg and sent as image/jpeg
    # When it is filed as evidence
    response = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("photo.jpg", HTML_BYTES, "image/jpeg")]),
        format="multipart",
    )

    # Then the report is refused on the evidence field, and nothing exists of it
    assert response.status_code == 400
    assert "evidence" in response.json()
    assert "not accepted" in response.json()["evidence"][0]
    assert not Report.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_one_refused_file_among_good_ones_refuses_the_whole_report(
    vendor, brand, listing, settings
):
    response = vendor.post(
        URL,
        form(
            brand,
            listing,
            evidence=[upload("ok.jpg", JPEG_BYTES), upload("bad.jpg", HTML_BYTES)],
        ),
        format="multipart",
    )

    assert response.status_code == 400
    assert not Report.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_an_oversized_file_is_refused_with_400_and_nothing_is_filed(
    vendor, brand, listing, settings
):
    # Given an upload cap of 1 KiB and a 4 KiB JPEG
    settings.MAX_UPLOAD_BYTES = 1024
    big = JPEG_BYTES + b"\x00" * 4096

    # When it is filed as evidence
    response = vendor.post(
        URL, form(brand, listing, evidence=[upload("big.jpg", big)]), format="multipart"
    )

    # Then it is refused as too large (a client error, never a 500), and nothing is filed
    assert response.status_code == 400
    assert "larger than the limit" in response.json()["evidence"][0]
    assert not Report.objects.exists()
    assert not Evidence.objects.exists()
    assert stored_files(settings) == []


def test_more_kinds_than_files_is_refused(vendor, brand, listing):
    response = vendor.post(
        URL,
        form(
            brand,
            listing,
            evidence=[upload("a.jpg", JPEG_BYTES), upload("b.jpg", JPEG_BYTES + b"\x01")],
            evidence_kind=[EvidenceKind.PHOTO, EvidenceKind.PHOTO, EvidenceKind.TEST_BUY],
        ),
        format="multipart",
    )

    assert response.status_code == 400
    assert "evidence_kind" in response.json()
    assert not Report.objects.exists()


def test_a_kind_without_files_is_refused(vendor, brand, listing):
    response = vendor.post(
        URL, form(brand, listing, evidence_kind=[EvidenceKind.PHOTO]), format="multipart"
    )

    assert response.status_code == 400
    assert "evidence_kind" in response.json()
    assert not Report.objects.exists()


def test_an_unknown_evidence_kind_is_refused(vendor, brand, listing):
    response = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("a.jpg", JPEG_BYTES)], evidence_kind=["selfie"]),
        format="multipart",
    )

    assert response.status_code == 400
    assert "evidence_kind" in response.json()
    assert not Report.objects.exists()


def test_evidence_in_a_json_body_is_refused_as_not_a_file(vendor, brand, listing):
    body = form(brand, listing, good_faith=True, evidence=["aGVsbG8="])

    response = vendor.post(URL, body, format="json")

    assert response.status_code == 400
    assert "evidence" in response.json()
    assert not Report.objects.exists()


def test_a_json_report_without_evidence_still_works(vendor, brand, listing):
    response = vendor.post(URL, form(brand, listing, good_faith=True), format="json")

    assert response.status_code == 201, response.content
    assert response.json()["evidence"] == []


def test_same_key_and_same_files_replay_without_a_second_report(vendor, brand, listing):
    # Given a report with evidence filed under an Idempotency-Key
    def send():
        return vendor.post(
            URL,
            form(brand, listing, evidence=[upload("buy.jpg", JPEG_BYTES)]),
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )

    first = send()

    # When the same request is retried
    again = send()

    # Then the first answer is replayed and nothing was filed twice
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Report.objects.count() == 1
    assert Evidence.objects.count() == 1


def test_same_key_with_another_file_is_422_and_files_nothing(vendor, brand, listing):
    # Given a report with one photo filed under a key
    first = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("buy.jpg", JPEG_BYTES)]),
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-2",
    )
    assert first.status_code == 201

    # When the key is reused with the same fields but a file of other content, same name
    changed = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("buy.jpg", JPEG_BYTES + b"\x01")]),
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-2",
    )

    # Then it is refused as a reused key (the file digests are part of the request), no new rows
    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    assert Report.objects.count() == 1
    assert Evidence.objects.count() == 1


def test_a_refused_upload_keeps_its_key_free_for_the_corrected_retry(vendor, brand, listing):
    # Given an upload refused for its content under a key
    refused = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("x.jpg", HTML_BYTES)]),
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-3",
    )
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()

    # When the corrected request is sent with the same key
    fixed = vendor.post(
        URL,
        form(brand, listing, evidence=[upload("x.jpg", JPEG_BYTES)]),
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-3",
    )

    # Then it is filed
    assert fixed.status_code == 201, fixed.content
    assert Evidence.objects.count() == 1


def test_report_list_with_evidence_costs_the_same_queries_for_one_and_many(
    vendor, brand, brand_owner_user
):
    def add_report():
        report = ReportFactory(brand=brand, reporter=brand_owner_user)
        EvidenceFactory(report=report)
        EvidenceFactory(report=report)

    add_report()
    vendor.get(URL)  # the role lookup is cached on the user after the first request
    with CaptureQueriesContext(connection) as one:
        assert vendor.get(URL).status_code == 200
    for _ in range(9):
        add_report()
    with CaptureQueriesContext(connection) as many:
        response = vendor.get(URL)

    assert len(response.json()["results"]) == 10
    assert all(len(row["evidence"]) == 2 for row in response.json()["results"])
    assert len(many) == len(one)


def test_more_than_twenty_files_are_refused_and_nothing_is_filed(vendor, brand, listing, settings):
    files = [upload(f"{n}.jpg", JPEG_BYTES + bytes([n])) for n in range(21)]

    response = vendor.post(URL, form(brand, listing, evidence=files), format="multipart")

    assert response.status_code == 400
    assert "evidence" in response.json()
    assert not Report.objects.exists()
    assert stored_files(settings) == []


def test_more_files_than_django_parses_is_a_client_error_not_a_500(vendor, brand, listing):
    files = [upload(f"{n}.jpg", JPEG_BYTES) for n in range(101)]

    response = vendor.post(URL, form(brand, listing, evidence=files), format="multipart")

    assert response.status_code == 400
    assert not Report.objects.exists()
