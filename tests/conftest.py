"""Fixtures shared by the whole suite: API client, role users, isolated files, a live worker.

The suite runs on PostgreSQL and Redis (``make test`` sets ``DATABASE_URL`` and
``CELERY_BROKER_URL``). Under pytest-xdist every worker process gets its own test database
(pytest-django adds the ``_gw0`` suffix) and its own Redis database number (below), so two
processes never consume each other's Celery tasks.
"""

import os
import shutil
import tempfile
import warnings
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings as django_settings
from django.db import connections
from rest_framework.test import APIClient

from config.celery import app as celery_app
from tests.factories import UserFactory


def broker_url_for_xdist_worker(url: str, worker: str | None) -> str:
    """The Redis broker URL for xdist worker ``gwN``: database ``N + 1`` (0 stays unused).

    Other brokers, and runs without xdist, keep the URL they were given.
    """
    parts = urlsplit(url)
    if not worker or parts.scheme not in {"redis", "rediss"}:
        return url
    index = int(worker.removeprefix("gw"))
    return urlunsplit(parts._replace(path=f"/{index + 1}"))


def pytest_configure(config: pytest.Config) -> None:
    # Settings are loaded by now (pytest-django), but the Celery app has made no connection yet:
    # point the settings, the app and any subprocess (via the environment) at this worker's DB.
    url = broker_url_for_xdist_worker(
        django_settings.CELERY_BROKER_URL, os.environ.get("PYTEST_XDIST_WORKER")
    )
    django_settings.CELERY_BROKER_URL = url
    celery_app.conf.broker_url = url
    os.environ["CELERY_BROKER_URL"] = url
    # A queue of this test process's own: another run on the same Redis (a second checkout, a
    # developer's run beside CI) shares database numbers, and its workers would take our tasks.
    queue = f"touchstone-tests-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}"
    django_settings.CELERY_TASK_DEFAULT_QUEUE = queue
    celery_app.conf.task_default_queue = queue
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = queue  # worker subprocesses (make chaos) follow
    if url.startswith("filesystem://"):
        # The embedded broker's default folders are the developer's queue under var/: a test
        # worker must neither run nor purge those messages.
        folder = tempfile.mkdtemp(prefix="touchstone-broker-")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))
        options = {
            "data_folder_in": folder,
            "data_folder_out": folder,
            "processed_folder": folder,
            "store_processed": False,
        }
        django_settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
        celery_app.conf.broker_transport_options = options


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test databases, plus: end stray sessions before they are dropped.

    A connection left open by a thread a test started (a worker, a live server, a race test)
    would make PostgreSQL refuse ``DROP DATABASE`` and leave ``test_touchstone_gwN`` behind.
    """
    yield
    with django_db_blocker.unblock():
        for connection in connections.all():
            if connection.vendor != "postgresql":
                continue
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                stray = cursor.rowcount
            if stray:
                warnings.warn(
                    f"closed {stray} database session(s) that test threads left open on "
                    f"{connection.settings_dict['NAME']}",
                    stacklevel=1,
                )


@pytest.fixture(scope="session")
def signing_key_path(tmp_path_factory: pytest.TempPathFactory):
    """Where this test process keeps its Ed25519 signing key (made on first use)."""
    return tmp_path_factory.mktemp("signing") / "signing_key.pem"


@pytest.fixture(autouse=True)
def _isolated_settings(settings, signing_key_path, tmp_path):
    """Keep tests off ``var/``: a per-process signing key, per-test media; fast password hashing.

    pytest-django already swaps in the locmem e-mail backend (``mailoutbox``).
    """
    settings.SIGNING_KEY_PATH = signing_key_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_client() -> APIClient:
    """An unauthenticated DRF client; ``api_client.force_authenticate(user)`` to act as someone."""
    return APIClient()


@pytest.fixture
def analyst(db):
    """A trust-and-safety analyst (group ``analyst``)."""
    return UserFactory(username="analyst", groups=["analyst"])


@pytest.fixture
def reviewer(db):
    """An appeal reviewer (group ``reviewer``), not the analyst who confirmed anything."""
    return UserFactory(username="reviewer", groups=["reviewer"])


@pytest.fixture
def brand_owner_user(db):
    """A brand owner (group ``brand_owner``), member of no brand yet: add a BrandMembership."""
    return UserFactory(username="brand", groups=["brand_owner"])


@pytest.fixture
def admin_user(db):
    """A superuser, replacing pytest-django's (so ``admin_client`` logs in as this one)."""
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def live_worker(request, settings, monkeypatch):
    """A real Celery worker, in a thread of this process, consuming from this process's broker.

    Tasks queued by the test (``delay``, ``delay_on_commit``) run in the worker thread, which uses
    its own database connection: it sees only committed rows. So a test using this fixture must
    be marked ``@pytest.mark.django_db(transaction=True)`` (and ``@pytest.mark.celery_worker``);
    wait for the task's effect with ``tests.helpers.wait_for``. Messages left in the queue by
    earlier tests are purged first. The worker stops (finishing the task in hand) at teardown.
    """
    from celery.contrib.testing.worker import start_worker

    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if not transactional:
        pytest.fail("live_worker needs @pytest.mark.django_db(transaction=True)")

    # System checks are test_smoke's job; a worker starting per test need not repeat them.
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    # Leave pytest's log capture alone: the embedded worker would otherwise take the root logger.
    celery_app.conf.worker_hijack_root_logger = False
    celery_app.control.purge()
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30
        ) as worker:
            yield worker
    finally:
        celery_app.conf.task_always_eager = was_eager
