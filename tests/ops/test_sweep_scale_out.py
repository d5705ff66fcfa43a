"""Sweeping a backlog with more than one process: `sweep_deadlines --processes N`, and the beat
task's helpers on the worker pool. Claims skip locked cases, so each case is referred once."""

from collections import Counter
from io import StringIO

import pytest
from celery.signals import task_prerun
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from counterfeits import tasks
from counterfeits.audit import verify_case_chain
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from counterfeits.services import sweep_deadlines
from referrals.models import Referral
from tests.helpers import wait_for
from tests.ops.test_sweep_race import due_case


def referred_once(ids: list[int]) -> bool:
    """Every case referred, with one expiry, one refer event and one referral per authority."""
    states = set(Case.objects.filter(pk__in=ids).values_list("state", flat=True))
    events = Counter(CaseEvent.objects.filter(case_id__in=ids).values_list("case_id", "transition"))
    referrals = Counter(Referral.objects.filter(case_id__in=ids).values_list("case_id", flat=True))
    return (
        states == {CaseState.REFERRED}
        and all(events[(pk, "expire_appeal_window")] == 1 for pk in ids)
        and all(events[(pk, "refer")] == 1 for pk in ids)
        and all(referrals[pk] == 2 for pk in ids)
    )


# Sweepers share a backlog by skipping each other's locked rows: PostgreSQL, not SQLite.
needs_skip_locked = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SKIP LOCKED claims need PostgreSQL"
)


@needs_skip_locked
@pytest.mark.django_db(transaction=True)
def test_two_sweeper_processes_refer_each_case_once(authorities, purge_broker):
    # Given more due cases than a few batches hold
    ids = [due_case().pk for _ in range(24)]

    # When the command sweeps them with two processes
    out = StringIO()
    call_command("sweep_deadlines", "--processes", "2", "--batch-size", "4", stdout=out)

    # Then they referred every case once between them, with intact chains
    assert "Referred 24 cases." in out.getvalue()
    assert referred_once(ids)
    assert all(verify_case_chain(pk) is None for pk in ids)


def test_fewer_than_one_process_is_refused(db):
    with pytest.raises(CommandError, match="at least 1"):
        call_command("sweep_deadlines", "--processes", "0")


@pytest.mark.skipif(connection.vendor == "postgresql", reason="databases without SKIP LOCKED")
def test_more_than_one_process_is_refused_where_locked_rows_cannot_be_skipped(db):
    with pytest.raises(CommandError, match="skips locked rows"):
        call_command("sweep_deadlines", "--processes", "2")


@needs_skip_locked
@pytest.mark.django_db(transaction=True)
@pytest.mark.celery_worker
def test_the_beat_task_queues_helpers_for_a_backlog(live_worker, settings, authorities):
    # Given a backlog of three batches and three sweepers wanted
    settings.SWEEP_BATCH_SIZE = 4
    settings.SWEEP_WORKERS = 3
    ids = [due_case().pk for _ in range(10)]
    started: list[str] = []

    def note(sender=None, **kwargs) -> None:
        started.append(sender.name)

    task_prerun.connect(note, weak=False)
    try:
        # When beat's task runs on a worker
        tasks.sweep_deadlines.delay()

        # Then it queued two helpers, and every case was referred once
        wait_for(
            lambda: started.count("counterfeits.tasks.sweep_deadlines_helper") == 2,
            message="two sweep helpers to start",
        )
        wait_for(lambda: referred_once(ids), message="every case to be referred once")
    finally:
        task_prerun.disconnect(note)


def test_the_sweep_calls_for_help_once_and_only_when_a_first_batch_is_full(authorities):
    # Given five due cases
    for _ in range(5):
        due_case()
    calls: list[int] = []

    # When sweeps take them in batches of two, then of ten
    by_twos = sweep_deadlines(batch_size=2, on_backlog=lambda: calls.append(2))
    for _ in range(3):
        due_case()
    by_tens = sweep_deadlines(batch_size=10, on_backlog=lambda: calls.append(10))

    # Then help was called for once by the first sweep (a backlog), never by the second
    assert (by_twos, by_tens) == (5, 3)
    assert calls == [2]
