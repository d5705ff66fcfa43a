"""``manage.py sweep_deadlines``: one run of the deadline sweep that Celery beat runs."""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections

from counterfeits.services import sweep_deadlines


class Command(BaseCommand):
    help = (
        "Run the deadline sweep once, the same code as the Celery beat task "
        "'counterfeits.tasks.sweep_deadlines': every case in account_closed whose appeal window "
        "has run out is moved through expire_appeal_window and referred (one signed packet per "
        "routed authority, delivery queued for the worker), and cases left in referral_pending "
        "are referred. Cases are claimed with SELECT ... FOR UPDATE SKIP LOCKED in batches, so "
        "it is safe to run while workers sweep too. Prints how many cases it referred."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="Cases claimed per transaction (default: SWEEP_BATCH_SIZE, "
            f"currently {settings.SWEEP_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="Sweepers to run at once, each a process with its own database connection "
            "claiming its own batches (default: 1). Up to one per free core speeds up a "
            "backlog (PostgreSQL needs CPU too: on 2 cores, 2 processes took 20k cases in about "
            "half the time of one); the beat task does the same with SWEEP_WORKERS worker "
            f"processes (currently {settings.SWEEP_WORKERS}). PostgreSQL only: other databases "
            "cannot skip locked rows.",
        )

    def handle(self, *args: object, **options: object) -> None:
        batch_size = options["batch_size"]
        processes = options["processes"]
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if processes < 1:
            raise CommandError("--processes must be at least 1.")
        if processes > 1 and not connection.features.has_select_for_update_skip_locked:
            raise CommandError(
                f"--processes needs a database that skips locked rows ({connection.vendor} "
                "does not): two sweepers would claim the same cases."
            )
        if processes == 1:
            referred = sweep_deadlines(batch_size=batch_size)
        else:
            referred = _sweep_in_processes(processes, batch_size)
        noun = "case" if referred == 1 else "cases"
        self.stdout.write(self.style.SUCCESS(f"Referred {referred} {noun}."))


def _sweep_in_processes(processes: int, batch_size: int | None) -> int:
    """Run ``processes`` sweepers at once (forked, so nothing is imported again); return how
    many cases they referred together. A sweeper that dies leaves its batch to the others or
    to the next run (its transaction rolls back) and fails the command."""
    # A forked child must not share the parent's connection: each opens its own.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        futures = [pool.submit(_sweep_child, batch_size) for _ in range(processes)]
        try:
            return sum(future.result() for future in futures)
        except BrokenProcessPool as exc:
            raise CommandError(
                "a sweeper process died; its batch rolled back, for the next run to take"
            ) from exc


def _sweep_child(batch_size: int | None) -> int:
    try:
        return sweep_deadlines(batch_size=batch_size)
    finally:
        connections.close_all()
