"""Issue an API token to an authority's client or to a user; the secret is printed once."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_duration

from referrals.models import Authority
from referrals.services import issue_token


class Command(BaseCommand):
    help = (
        "Issue a bearer token to an authority client (--authority CODE) or a user (--user NAME). "
        "The token is printed once; only its hash is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--authority", help="Authority code, e.g. US-IPRC.")
        parser.add_argument("--user", help="Username of an analyst or brand owner.")
        parser.add_argument("--name", default="default", help="A label for this token.")
        parser.add_argument(
            "--client", help="The API client's name (one authority may have several systems)."
        )
        parser.add_argument(
            "--expires-in", help="ISO-8601 duration until expiry, e.g. P90D; none by default."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if bool(options["authority"]) == bool(options["user"]):
            raise CommandError("Give exactly one of --authority CODE or --user NAME.")
        expires_at = None
        if options["expires_in"]:
            duration = parse_duration(options["expires_in"])
            if duration is None or duration.total_seconds() <= 0:
                raise CommandError(
                    f"--expires-in {options['expires_in']!r} is not a positive ISO-8601 "
                    "duration such as P90D or PT12H."
                )
            expires_at = timezone.now() + duration
        name = options["name"].strip()
        if not name:
            raise CommandError("--name may not be blank.")
        if options["authority"]:
            authority = Authority.objects.filter(code__iexact=options["authority"]).first()
            if authority is None:
                known = ", ".join(Authority.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"No authority {options['authority']!r} (known: {known}).")
            if not authority.active:
                # The API refuses every token of an inactive authority: this one would be dead.
                raise CommandError(
                    f"Authority {authority.code} is inactive: its tokens are refused. "
                    "Activate it in the admin first."
                )
            token, raw = issue_token(
                authority=authority,
                client_name=options["client"],
                token_name=name,
                expires_at=expires_at,
            )
        else:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user {options['user']!r}.")
            if not user.is_active:
                raise CommandError(f"User {options['user']!r} is inactive.")
            token, raw = issue_token(
                user=user, client_name=options["client"], token_name=name, expires_at=expires_at
            )
        expiry = (
            f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "no expiry"
        )
        self.stderr.write(
            f"Token #{token.pk} '{token.name}' for client '{token.client.name}' "
            f"(prefix {token.prefix}, {expiry}). Shown once, store it now:"
        )
        self.stdout.write(raw)
