"""The reports API as a brand-protection vendor uses it: visibility, Idempotency-Key, Art. 23."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from counterfeits.choices import IntakeMeasureKind
from counterfeits.models import IdempotencyRecord, IntakeMeasure, Report
from tests.factories import ReportFactory

URL = "/api/v1/reports/"


def _body(brand, listing, **extra):
    body = {
        "brand": brand.pk,
        "listings": [listing.pk],
        "reason": "counterfeit",
        "explanation": "Test buy 2024-118: counterfeit hologram, wrong serial range.",
        "notifier_name": "Vendor Bot",
        "notifier_email": "bot@protection.example",
        "good_faith": True,
    }
    body.update(extra)
    return body


@pytest.fixture
def vendor(owner):
    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.mark.django_db
def test_brand_owner_cannot_see_another_brands_report_by_id_or_in_the_list(
    vendor, owner, other_owner
):
    theirs = ReportFactory(brand=other_owner.brands.get(), reporter=other_owner)
    mine = ReportFactory(brand=owner.brands.get(), reporter=owner)

    listed = vendor.get(URL)
    by_id = vendor.get(f"{URL}{theirs.pk}/")

    ids = [row["id"] for row in listed.json()["results"]]
    assert ids == [mine.pk]
    assert by_id.status_code == 404


@pytest.mark.django_db
def test_same_idempotency_key_and_body_replays_the_first_answer(vendor, brand, listing):
    first = vendor.post(URL, _body(brand, listing), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = vendor.post(URL, _body(brand, listing), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_same_idempotency_key_with_another_body_is_422_and_files_nothing(vendor, brand, listing):
    vendor.post(URL, _body(brand, listing), format="json", HTTP_IDEMPOTENCY_KEY="k-2")

    changed = vendor.post(
        URL,
        _body(brand, listing, explanation="Something else entirely."),
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )

    assert changed.status_code == 422
    assert changed.json()["code"] == "idempotency_key_reused"
    assert Report.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_keeps_no_answer_so_the_key_can_be_retried(vendor, brand, listing):
    refused = vendor.post(
        URL, _body(brand, listing, good_faith=False), format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )

    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert not Report.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_requests_make_exactly_one_report(owner, brand, listing):
    barrier = threading.Barrier(20)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def post() -> None:
        client = APIClient()
        client.force_authenticate(owner)
        try:
            barrier.wait(timeout=30)
            response = client.post(
                URL, _body(brand, listing), format="json", HTTP_IDEMPOTENCY_KEY="bulk-0001"
            )
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(answers) == 20
    assert {status for status, _ in answers} == {201}
    assert len({body["id"] for _, body in answers}) == 1
    assert Report.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_suspended_brand_is_refused_by_the_api_with_why_and_until_when(vendor, brand, listing):
    until = timezone.now() + timedelta(days=30)
    IntakeMeasure.objects.create(
        brand=brand,
        kind=IntakeMeasureKind.SUSPENSION,
        reason="5 of your reports were rejected as manifestly unfounded.",
        unfounded_count=5,
        ends_at=until,
    )

    response = vendor.post(URL, _body(brand, listing), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "intake_suspended"
    assert "suspended until" in response.json()["detail"]
    assert "manifestly unfounded" in response.json()["detail"]
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_the_schema_documents_idempotency_key_and_every_refusal_of_filing(vendor):
    # Given the OpenAPI document a vendor generates its client from
    schema = vendor.get("/api/v1/schema/?format=json").json()
    create = schema["paths"][URL]["post"]

    # Then filing documents the Idempotency-Key header, the replay header, and the answers
    # the endpoint really gives: 409 while the brand's intake is suspended, 422 for a reused key
    headers = {p["name"]: p for p in create["parameters"] if p["in"] == "header"}
    assert headers["Idempotency-Key"].get("required", False) is False
    assert headers["Idempotency-Key"]["schema"]["maxLength"] == 255
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]
    assert {"201", "400", "409", "422"} <= set(create["responses"])
