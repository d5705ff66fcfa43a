"""``manage.py verify_audit_chain``: recompute every case's hash-chained timeline."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from counterfeits.audit import verify_all_chains, verify_case_chain
from counterfeits.models import Case, CaseEvent


class Command(BaseCommand):
    help = (
        "Recompute the SHA-256 chain of every case's timeline (CaseEvent) and check that each "
        "event's content matches its hash, that each links to the previous one, that the "
        "sequence has no gaps and that the last event leads to the case's current state. An "
        "edited, deleted or reordered event breaks the chain at that row. Exits 0 when every "
        "chain is intact; otherwise prints the first broken link (case, seq, event id, what is "
        "wrong) and exits 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--case",
            type=int,
            metavar="ID",
            default=None,
            help="Check only the case with this id.",
        )

    def handle(self, *args: object, **options: object) -> None:
        case_id = options["case"]
        if case_id is not None:
            if not Case.objects.filter(pk=case_id).exists():
                raise CommandError(f"There is no case {case_id}.")
            broken = verify_case_chain(case_id)
            cases, events = 1, CaseEvent.objects.filter(case_id=case_id).count()
        else:
            cases, events, broken = verify_all_chains()
        if broken is not None:
            # CommandError: message on stderr and exit status 1 from manage.py.
            raise CommandError(
                f"Audit chain BROKEN at {broken} (checked {cases} case(s), {events} event(s) "
                "up to this point).",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chains intact: {cases} case(s), {events} event(s) verified.")
        )
