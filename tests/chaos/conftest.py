"""Fault tests (``make chaos``): a private stack to break, the books to check afterwards.

Run only with ``CHAOS=1`` (``make chaos`` sets it, and points ``DATABASE_URL`` and
``CELERY_BROKER_URL`` at the private services); ``make test`` deselects them. The test process
reads and arranges rows through the ORM on the private cluster; everything that is put under
fault (workers, beat, gunicorn, PostgreSQL, Redis) runs as a separate process.
"""

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connections

from tests.chaos import stack

CHAOS = os.environ.get("CHAOS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chaos_items = [item for item in items if item.get_closest_marker("chaos")]
    if CHAOS or not chaos_items:
        return
    config.hook.pytest_deselected(items=chaos_items)
    items[:] = [item for item in items if not item.get_closest_marker("chaos")]


@dataclass
class Stack:
    base: Path
    postgres: stack.PrivatePostgres
    redis: stack.PrivateRedis
    receiver: stack.Receiver
    env: dict[str, str]
    # What the run did, for docs/reliability.md: faults injected, work items checked, answers.
    tally: Counter = field(default_factory=Counter)


def _points_at_private_services() -> bool:
    db = django_settings.DATABASES["default"]
    return (
        db["ENGINE"].endswith("postgresql")
        and str(db.get("PORT")) == str(stack.PG_PORT)
        and django_settings.CELERY_BROKER_URL.startswith(f"redis://127.0.0.1:{stack.REDIS_PORT}/")
    )


@pytest.fixture(scope="session")
def chaos_stack(django_db_blocker) -> Iterator[Stack]:
    """PostgreSQL and Redis of our own, migrated, with US-IPRC pushing to a test receiver."""
    if not _points_at_private_services():
        pytest.fail(
            "the fault tests must run against their private services: use `make chaos` "
            f"(DATABASE_URL={stack.DATABASE_URL} CELERY_BROKER_URL={stack.BROKER_URL})"
        )
    stack.warn_if_ephemeral({"CHAOS_PG_PORT": stack.PG_PORT, "CHAOS_REDIS_PORT": stack.REDIS_PORT})
    for port in (stack.PG_PORT, stack.REDIS_PORT):
        if stack.port_in_use(port):
            pytest.fail(f"port {port} is taken: stop what listens there or set CHAOS_*_PORT")
    # Logs of every process stay here after the run (pytest prunes its own temporary tree).
    base = Path(tempfile.mkdtemp(prefix="touchstone-chaos-"))
    print(f"chaos: logs in {base}")
    postgres = stack.PrivatePostgres()
    redis = stack.PrivateRedis(base)
    receiver = stack.Receiver()
    var_dir = base / "var"
    var_dir.mkdir()
    try:
        postgres.init()
        redis.start()
        with django_db_blocker.unblock():
            from django.core.management import call_command

            from referrals.services import ensure_default_authorities

            call_command("migrate", verbosity=0)
            authorities = {a.code: a for a in ensure_default_authorities()}
            us = authorities["US-IPRC"]
            us.webhook_url = receiver.url
            us.webhook_secret = stack.WEBHOOK_SECRET
            us.save()
            connections.close_all()
        running = Stack(base, postgres, redis, receiver, stack.service_env(var_dir))
        yield running
        with receiver.lock:
            running.tally["push deliveries accepted (distinct Idempotency-Key)"] = len(
                receiver.accepted
            )
            running.tally["push POSTs received"] = sum(receiver.posts.values())
        summary = json.dumps(dict(sorted(running.tally.items())), indent=2)
        (base / "summary.json").write_text(summary)
        print(f"\nchaos summary ({base}/summary.json):\n{summary}")
    finally:
        with django_db_blocker.unblock():
            connections.close_all()
        receiver.close()
        redis.stop()
        postgres.remove()


@pytest.fixture
def chaos(chaos_stack: Stack, django_db_blocker, settings) -> Iterator[Stack]:
    """One fault test: the stack up, DB access allowed, this process on the same short leases."""
    settings.OUTBOX_LEASE_SECONDS = 5
    settings.SWEEP_BATCH_SIZE = 10
    settings.WEBHOOK_ALLOW_HTTP = True  # as the services: the receiver is plain http
    settings.SIGNING_KEY_PATH = Path(chaos_stack.env["SIGNING_KEY_PATH"])
    if chaos_stack.redis.process is None:
        chaos_stack.redis.start()
    chaos_stack.receiver.delay = 0.0
    with django_db_blocker.unblock():
        yield chaos_stack
        connections.close_all()


@pytest.fixture
def procs(chaos: Stack, request: pytest.FixtureRequest) -> Iterator[stack.Processes]:
    """Workers, beat and gunicorn started by the test; every one is killed at teardown."""
    logs = chaos.base / request.node.name
    logs.mkdir()
    processes = stack.Processes(logs, chaos.env)
    try:
        yield processes
    finally:
        processes.stop_all()
        chaos.tally["faults: worker killed with SIGKILL mid-task"] += processes.count["kill -9"]
