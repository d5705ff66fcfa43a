"""The outbox: side effects survive a broker outage and a lost message."""

from datetime import timedelta

import psycopg2
import pytest
from django.db import connection, transaction
from django.utils import timezone

from config.celery import app as celery_app
from counterfeits import services
from counterfeits.choices import CaseState, NoticeKind
from counterfeits.models import Case, Notice
from outbox import services as outbox
from outbox.models import OutboxMessage
from tests.factories import EvidenceFactory, ReportFactory, SaleFactory
from tests.helpers import queued_outbox_ids, wait_for


def ready_case(analyst) -> Case:
    report = ReportFactory()
    EvidenceFactory(report=report)
    SaleFactory(listing=report.listings.first())
    return services.open_case(report_ids=[report.pk], actor=analyst)


@pytest.mark.django_db(transaction=True)
def test_confirm_writes_the_closure_to_the_outbox_in_its_transaction(analyst, monkeypatch):
    case = ready_case(analyst)
    # the broker is down when the transaction commits
    monkeypatch.setattr(outbox, "publish", lambda ids: 0)

    services.confirm_case(case.pk, actor=analyst, reason="fake")

    message = OutboxMessage.objects.get(task="counterfeits.tasks.close_account_task")
    assert message.args == [case.pk]
    assert message.done_at is None


@pytest.mark.django_db(transaction=True)
def test_a_refused_transition_owes_nothing(analyst):
    case = ready_case(analyst)
    services.dismiss_case(case.pk, actor=analyst, reason="not a fake")
    owed = OutboxMessage.objects.count()

    with pytest.raises(services.TransitionRefused):
        services.confirm_case(case.pk, actor=analyst, reason="fake")

    assert OutboxMessage.objects.count() == owed


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_relay_finishes_work_whose_message_never_reached_the_broker(
    analyst, live_worker, monkeypatch
):
    case = ready_case(analyst)
    with monkeypatch.context() as m:
        m.setattr(outbox, "publish", lambda ids: 0)  # crash between commit and enqueue
        services.confirm_case(case.pk, actor=analyst, reason="fake")
    assert Case.objects.get(pk=case.pk).state == CaseState.CONFIRMED

    assert outbox.relay() >= 1

    wait_for(lambda: Case.objects.get(pk=case.pk).state == CaseState.ACCOUNT_CLOSED)
    wait_for(lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists())
    statement = Notice.objects.get(case=case, kind=NoticeKind.STATEMENT_OF_REASONS)
    assert statement.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_leased_message_is_published_again_only_after_its_lease(analyst):
    # No worker runs: what is published stays in this process's queue on the real broker.
    celery_app.control.purge()
    with transaction.atomic():
        message = outbox.enqueue("counterfeits.tasks.refer_case_task", 1)
    assert queued_outbox_ids() == [message.pk]  # published on commit

    assert outbox.relay() == 0  # leased: a worker has it
    OutboxMessage.objects.filter(pk=message.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert outbox.relay() == 1  # the worker died with it: published again
    assert queued_outbox_ids() == [message.pk, message.pk]
    celery_app.control.purge()

    outbox.mark_done(message.pk)
    OutboxMessage.objects.filter(pk=message.pk).update(leased_until=None)
    assert outbox.relay() == 0


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_overdue_work(client, analyst):
    case = ready_case(analyst)
    Case.objects.filter(pk=case.pk).update(
        state=CaseState.ACCOUNT_CLOSED, appeal_deadline=timezone.now() - timedelta(hours=1)
    )

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["status"] == "degraded"
    assert body["oldest_unswept_deadline_seconds"] >= 3600


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="locks a row from a second PostgreSQL connection"
)
@pytest.mark.django_db(transaction=True)
def test_a_claim_takes_only_messages_owed_unleased_and_not_held_by_another_claimer():
    # Given four messages: owed, done, leased, and one another claimer holds locked
    owed, done, leased, held = (
        OutboxMessage.objects.create(task="counterfeits.tasks.refer_case_task", args=[n, "x"])
        for n in range(4)
    )
    now = timezone.now()
    OutboxMessage.objects.filter(pk=done.pk).update(done_at=now)
    OutboxMessage.objects.filter(pk=leased.pk).update(leased_until=now + timedelta(minutes=5))
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM outbox_outboxmessage WHERE id = %s FOR UPDATE", [held.pk]
            )

        # When they are claimed (without waiting for the held one)
        claimed = outbox._claim([owed.pk, done.pk, leased.pk, held.pk])
    finally:
        other.rollback()
        other.close()

    # Then only the owed one is leased, with its task and arguments, and counted
    assert [(m.pk, m.task, m.args, m.attempts) for m in claimed] == [
        (owed.pk, "counterfeits.tasks.refer_case_task", [0, "x"], 1)
    ]
    assert claimed[0].leased_until > now
    assert OutboxMessage.objects.get(pk=held.pk).attempts == 0
    # and a second claim gets nothing: the lease holds
    assert outbox._claim([owed.pk]) == []


@pytest.mark.django_db(transaction=True)
def test_a_notice_retried_while_smtp_is_down_keeps_its_message_leased_past_the_retry(
    analyst, monkeypatch, settings
):
    from celery.exceptions import Retry
    from django.core.mail import EmailMultiAlternatives

    from counterfeits.tasks import send_notice_task

    # Given a statement of reasons owed, its message claimed by a worker, and SMTP down
    settings.OUTBOX_LEASE_SECONDS = 1
    case = ready_case(analyst)
    services.confirm_case(case.pk, actor=analyst, reason="fake")
    services.close_account(case.pk)
    notice = Notice.objects.get(case=case, kind=NoticeKind.STATEMENT_OF_REASONS)
    message = OutboxMessage.objects.get(
        task="counterfeits.tasks.send_notice_task", args=[notice.pk]
    )
    OutboxMessage.objects.filter(pk=message.pk).update(leased_until=None, done_at=None)
    [message] = outbox._claim([message.pk])

    def smtp_down(self, fail_silently=False):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(EmailMultiAlternatives, "send", smtp_down)

    # When a late attempt (the sixth) fails and the task schedules its retry on the broker
    celery_app.control.purge()
    send_notice_task.push_request(id="notice-attempt", retries=5, called_directly=False)
    try:
        with pytest.raises(Retry) as retry:
            send_notice_task.run(notice.pk, outbox_id=message.pk)
    finally:
        send_notice_task.pop_request()
        celery_app.control.purge()

    # Then the message stays leased until after the retry: the relay must not publish a second
    # copy that would retry (and e-mail) beside the first
    retry_at = timezone.now() + timedelta(seconds=retry.value.when)
    message.refresh_from_db()
    assert message.done_at is None
    assert message.leased_until >= retry_at
    assert Notice.objects.get(pk=notice.pk).sent_at is None
