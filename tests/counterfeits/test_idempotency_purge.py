"""Idempotency-Key records are kept for IDEMPOTENCY_TTL, then purged by a beat task."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from config.celery import app as celery_app
from counterfeits import services, tasks
from counterfeits.models import IdempotencyRecord, Report
from tests.factories import BrandMembershipFactory, ListingFactory, UserFactory
from tests.helpers import wait_for


def record(user, key: str, *, age: timedelta) -> IdempotencyRecord:
    return IdempotencyRecord.objects.create(
        user=user,
        key=key,
        request_hash="0" * 64,
        response_status=201,
        response_body={"id": 1},
        created_at=timezone.now() - age,
    )


@pytest.mark.django_db
def test_records_older_than_the_ttl_are_purged_and_younger_ones_kept(settings):
    # Given a TTL of a day, two records past it and one inside it
    settings.IDEMPOTENCY_TTL = timedelta(days=1)
    user = UserFactory()
    record(user, "old-1", age=timedelta(days=3))
    record(user, "old-2", age=timedelta(hours=25))
    young = record(user, "young", age=timedelta(hours=23))

    # When the purge runs
    deleted = services.purge_idempotency_records()

    # Then only the young record is left
    assert deleted == 2
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [young.pk]


@pytest.mark.django_db
def test_purge_follows_the_configured_ttl(settings):
    # Given a TTL of one hour
    settings.IDEMPOTENCY_TTL = timedelta(hours=1)
    user = UserFactory()
    record(user, "two-hours", age=timedelta(hours=2))
    kept = record(user, "half-hour", age=timedelta(minutes=30))

    # When the purge runs
    services.purge_idempotency_records()

    # Then the record older than an hour is gone
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [kept.pk]


@pytest.mark.django_db
def test_purge_works_through_a_backlog_in_batches():
    # Given more expired records than one batch holds
    user = UserFactory()
    for n in range(7):
        record(user, f"old-{n}", age=timedelta(days=2))

    # When the purge runs with batches of three
    deleted = services.purge_idempotency_records(older_than=timedelta(days=1), batch_size=3)

    # Then every expired record is gone
    assert deleted == 7
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_purge_with_nothing_expired_deletes_nothing():
    user = UserFactory()
    record(user, "fresh", age=timedelta(minutes=1))

    assert services.purge_idempotency_records() == 0
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_a_purged_key_can_be_used_again_for_a_new_request(settings):
    # Given a brand owner who filed a report with a key two days ago
    settings.IDEMPOTENCY_TTL = timedelta(days=1)
    owner = UserFactory(groups=["brand_owner"])
    brand = BrandMembershipFactory(user=owner).brand
    listing = ListingFactory(product__brand=brand)
    client = APIClient()
    client.force_authenticate(owner)
    body = {
        "brand": brand.pk,
        "listings": [listing.pk],
        "reason": "counterfeit",
        "explanation": "Test buy: counterfeit hologram.",
        "notifier_name": "Vendor Bot",
        "notifier_email": "bot@protection.example",
        "good_faith": True,
    }
    first = client.post("/api/v1/reports/", body, format="json", HTTP_IDEMPOTENCY_KEY="batch-7")
    assert first.status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))

    # When the purge has run and the key comes back with another body
    services.purge_idempotency_records()
    again = client.post(
        "/api/v1/reports/",
        {**body, "explanation": "Another test buy."},
        format="json",
        HTTP_IDEMPOTENCY_KEY="batch-7",
    )

    # Then it is a new request, not a 422 for a reused key
    assert again.status_code == 201, again.content
    assert Report.objects.count() == 2


def test_beat_runs_the_purge_task_hourly():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-idempotency-records"]

    assert entry["task"] == "counterfeits.tasks.purge_idempotency_records"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"] == 3600.0


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_the_beat_task_purges_expired_records_on_a_worker(live_worker, settings):
    # Given an expired record and a fresh one
    settings.IDEMPOTENCY_TTL = timedelta(days=1)
    user = UserFactory()
    record(user, "expired", age=timedelta(days=2))
    fresh = record(user, "fresh", age=timedelta(minutes=5))

    # When beat's task is sent to a real worker
    tasks.purge_idempotency_records.delay()

    # Then the worker deletes the expired one only
    wait_for(
        lambda: list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk],
        message="the expired idempotency record to be purged",
    )
