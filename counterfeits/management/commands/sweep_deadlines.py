"""``manage.py sweep_deadlines``: one run of the deadline sweep that Celery beat runs."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

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

    def handle(self, *args: object, **options: object) -> None:
        batch_size = options["batch_size"]
        if batch_size is not None and batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        referred = sweep_deadlines(batch_size=batch_size)
        noun = "case" if referred == 1 else "cases"
        self.stdout.write(self.style.SUCCESS(f"Referred {referred} {noun}."))
