"""Outbox services: enqueue in the transaction, publish on commit, relay what is still owed.

Tasks that take an ``outbox_id`` keyword mark their message done when they finish (see
:func:`outbox.tasks.completes_outbox`); until then the relay republishes it after its lease.
Every task behind the outbox must be idempotent: a message may run more than once.
"""

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.bulk import without_flush_wait
from config.rows import execute_prepared

from .models import OutboxMessage

log = logging.getLogger(__name__)


def lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def enqueue(task: str, *args: object) -> OutboxMessage:
    """Owe ``task(*args)``: the row commits with the caller's transaction, then is published."""
    message = OutboxMessage.objects.create(task=task, args=list(args))
    publish_on_commit([message.pk])
    return message


def enqueue_many(task: str, args_list: Iterable[Iterable[object]]) -> list[OutboxMessage]:
    """Owe ``task(*args)`` for each ``args``: one INSERT for the lot, published on commit."""
    messages = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task=task, args=list(args)) for args in args_list]
    )
    if messages:
        publish_on_commit([m.pk for m in messages])
    return messages


def publish_on_commit(ids: list[int]) -> None:
    """Publish these messages, just inserted, when the caller's transaction commits (at once
    outside a transaction: the statement that wrote them has committed)."""
    transaction.on_commit(partial(publish, ids))


def _claim(ids: Iterable[int]) -> list[OutboxMessage]:
    """Lease the given messages if nobody holds them; return the ones this caller got."""
    ids = list(ids)
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _claim_in_one_statement(ids, now)
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, done_at__isnull=True)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        )
        for row in rows:
            row.leased_until = now + lease()
            row.attempts += 1
        OutboxMessage.objects.bulk_update(rows, ["leased_until", "attempts"])
    return rows


CLAIMED = ("id", "task", "args", "leased_until", "attempts")


def _claim_in_one_statement(ids: list[int], now: datetime) -> list[OutboxMessage]:
    # The same claim as the portable one (rows another claimer holds are skipped, a leased or
    # done row is left alone) in one round trip. A lease lost in a database crash only lets the
    # relay publish the message again, which every outbox task tolerates (they are
    # idempotent): the commit need not wait for the WAL flush, a second fsync on every request
    # that enqueues otherwise.
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            f"UPDATE {table} SET leased_until = %s, attempts = attempts + 1 "  # noqa: S608
            f"WHERE id IN (SELECT id FROM {table} WHERE id = ANY(%s) AND done_at IS NULL "
            "AND (leased_until IS NULL OR leased_until < %s) "
            "ORDER BY id FOR UPDATE SKIP LOCKED) "
            f"RETURNING {', '.join(CLAIMED)}",
            [now + lease(), ids, now],
            before=without_flush_wait(""),
        )
        claimed = cursor.fetchall()
    # Instances of the claimed columns (the others deferred), args decoded as the ORM does.
    return [
        OutboxMessage.from_db(
            connection.alias,
            CLAIMED,
            (pk, task, json.loads(args) if isinstance(args, str) else args, *rest),
        )
        for pk, task, args, *rest in sorted(claimed)
    ]


def _send(rows: list[OutboxMessage]) -> int:
    sent = 0
    for row in rows:
        try:
            current_app.send_task(row.task, args=row.args, kwargs={"outbox_id": row.pk})
            sent += 1
        except (OperationalError, OSError) as exc:
            # The broker is down: release the lease so the next relay run tries again.
            log.warning("outbox %s not published: %s", row.pk, exc)
            OutboxMessage.objects.filter(pk=row.pk).update(
                leased_until=None, last_error=str(exc)[:1000]
            )
    return sent


def publish(ids: list[int]) -> int:
    """Publish these messages now (called on commit); the relay covers any failure."""
    return _send(_claim(ids))


def relay(*, batch_size: int = 500, max_batches: int = 20) -> int:
    """Publish every message that is owed and not leased (new, or its lease ran out)."""
    published = 0
    for _ in range(max_batches):
        now = timezone.now()
        ids = list(
            OutboxMessage.objects.filter(done_at__isnull=True, available_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .order_by("available_at", "id")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        published += _send(_claim(ids))
        if len(ids) < batch_size:
            break
    return published


def mark_done(outbox_id: int | None) -> None:
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(
            done_at=timezone.now(), leased_until=None
        )


def extend_lease(outbox_id: int | None, seconds: float) -> None:
    """A task that retries later keeps its message leased past the retry."""
    if outbox_id is not None:
        OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(
            leased_until=timezone.now() + timedelta(seconds=seconds) + lease()
        )


def oldest_owed_age() -> timedelta | None:
    """Age of the oldest message not yet done (for /healthz)."""
    oldest = (
        OutboxMessage.objects.filter(done_at__isnull=True)
        .order_by("available_at", "id")
        .values_list("created_at", flat=True)
        .first()
    )
    return None if oldest is None else timezone.now() - oldest


def purge_done(older_than: timedelta = timedelta(days=7)) -> int:
    deleted, _ = OutboxMessage.objects.filter(done_at__lt=timezone.now() - older_than).delete()
    return deleted
