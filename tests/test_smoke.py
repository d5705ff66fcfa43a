"""The harness itself: the database, the migrations, the checks, the factories, a real worker."""

import hashlib
import io
import os
import threading
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app as celery_app
from counterfeits.choices import CaseState
from counterfeits.models import Case
from listings.models import Marketplace
from referrals.models import Authority
from sellers.models import Seller
from tests.conftest import broker_url_for_xdist_worker
from tests.factories import (
    AuthorityFactory,
    CaseFactory,
    EvidenceFactory,
    MarketplaceFactory,
    ReportFactory,
    SellerFactory,
    confirmable_case,
    force_state,
)
from tests.helpers import wait_for


@celery_app.task(name="tests.smoke.record_thread")
def record_thread(key: str) -> None:
    """Write the id of the thread running this task to Redis (the broker's database)."""
    redis.Redis.from_url(celery_app.conf.broker_url).set(key, threading.get_ident(), ex=300)


@celery_app.task(name="tests.smoke.rename_seller")
def rename_seller(seller_id: int, name: str) -> None:
    """Read a row the test committed and change it: the worker's own database connection."""
    Seller.objects.filter(pk=seller_id).update(name=name)


def test_database_is_the_one_database_url_names():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres", "postgresql")) else "sqlite"

    assert connection.vendor == expected


@pytest.mark.django_db
def test_factories_build_a_case_that_reads_back_from_the_database():
    case = confirmable_case(units=4)
    ReportFactory(brand=case.brand, seller=case.seller)
    AuthorityFactory()
    AuthorityFactory(code="EU-IPC3")

    stored = Case.objects.select_related("seller", "brand").get(pk=case.pk)

    assert stored.state == CaseState.OPEN
    assert stored.seller == case.seller
    assert stored.brand == case.brand
    assert stored.has_evidence()
    assert stored.units_sold() == 4
    assert set(Authority.objects.values_list("code", "jurisdiction")) == {
        ("US-IPRC", "US"),
        ("EU-IPC3", "EU"),
    }


@pytest.mark.django_db
def test_marketplace_and_authority_factories_reuse_rows_by_code():
    assert MarketplaceFactory() == MarketplaceFactory(code="us")
    assert MarketplaceFactory(code="de").country == "DE"
    assert Marketplace.objects.count() == 2
    assert AuthorityFactory() == AuthorityFactory(code="US-IPRC")


@pytest.mark.django_db
def test_evidence_factory_hashes_its_content_and_attaches_to_a_case_or_a_report():
    case = CaseFactory()

    on_case = EvidenceFactory(case=case, content=b"photo")
    on_report = EvidenceFactory()

    assert on_case.report is None
    assert on_case.sha256 == hashlib.sha256(b"photo").hexdigest()
    assert on_case.size == len(b"photo")
    assert on_report.case is None
    assert on_report.report is not None


@pytest.mark.django_db
def test_force_state_arranges_a_state_without_writing_events():
    deadline = timezone.now() + timedelta(days=30)

    case = force_state(CaseFactory(), CaseState.ACCOUNT_CLOSED, appeal_deadline=deadline)

    assert case.state == CaseState.ACCOUNT_CLOSED
    assert case.appeal_deadline == deadline
    assert not case.events.exists()


@pytest.mark.django_db
def test_role_fixtures_are_in_their_groups(analyst, reviewer, brand_owner_user, admin_user):
    assert list(analyst.groups.values_list("name", flat=True)) == ["analyst"]
    assert list(reviewer.groups.values_list("name", flat=True)) == ["reviewer"]
    assert list(brand_owner_user.groups.values_list("name", flat=True)) == ["brand_owner"]
    assert admin_user.is_superuser


@pytest.mark.django_db
def test_system_checks_pass():
    call_command("check", fail_level="ERROR")


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:
        pytest.fail(f"models have changes that no migration records:\n{out.getvalue()}")


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "gw0", "redis://127.0.0.1:6379/1"),
        ("redis://127.0.0.1:6379/0", "gw3", "redis://127.0.0.1:6379/4"),
        ("redis://127.0.0.1:6379", "gw1", "redis://127.0.0.1:6379/2"),
        ("redis://127.0.0.1:6379/0", None, "redis://127.0.0.1:6379/0"),
        ("filesystem://", "gw0", "filesystem://"),
    ],
)
def test_each_xdist_worker_gets_its_own_redis_database(url, worker, expected):
    assert broker_url_for_xdist_worker(url, worker) == expected


def test_this_process_uses_its_own_broker_database():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = celery_app.conf.broker_url
    if not worker or not url.startswith("redis"):
        pytest.skip("only under pytest-xdist with a Redis broker")

    assert urlsplit(url).path == f"/{int(worker.removeprefix('gw')) + 1}"
    assert os.environ["CELERY_BROKER_URL"] == url


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_live_worker_runs_a_task_through_the_broker_in_another_thread(live_worker):
    if not celery_app.conf.broker_url.startswith("redis"):
        pytest.skip("needs CELERY_BROKER_URL=redis://...")
    key = f"tests:smoke:{uuid.uuid4().hex}"
    store = redis.Redis.from_url(celery_app.conf.broker_url)

    record_thread.delay(key)

    ran_in = wait_for(lambda: store.get(key), timeout=30, message="the worker to run the task")
    assert int(ran_in) != threading.get_ident()
    store.delete(key)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_live_worker_sees_committed_rows_and_its_writes_are_visible(live_worker):
    with transaction.atomic():
        seller = SellerFactory(name="Before")
        rename_seller.delay_on_commit(seller.pk, "After")

    wait_for(
        lambda: Seller.objects.filter(pk=seller.pk, name="After").exists(),
        message="the worker to rename the seller",
    )
