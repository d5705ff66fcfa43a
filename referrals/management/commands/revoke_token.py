"""Revoke an API token by its prefix (as printed when issued) or its id."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from referrals.models import ApiToken
from referrals.services import revoke_token


class Command(BaseCommand):
    help = "Revoke an API token: --prefix PREFIX (the first 10 characters) or --id ID."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--prefix", help="The token's prefix, e.g. ts_AbC123x.")
        parser.add_argument("--id", type=int, help="The token's id.")

    def handle(self, *args: Any, **options: Any) -> None:
        if (options["prefix"] is None) == (options["id"] is None):
            raise CommandError("Give exactly one of --prefix PREFIX or --id ID.")
        if options["id"] is not None:
            tokens = list(ApiToken.objects.select_related("client").filter(pk=options["id"]))
        else:
            prefix = options["prefix"].strip()
            if len(prefix) < 6:
                raise CommandError("A prefix needs at least 6 characters.")
            tokens = list(
                ApiToken.objects.select_related("client").filter(prefix__startswith=prefix[:10])
            )
            # The prefix is at most 10 characters; a longer value must be the token itself.
            tokens = [
                t for t in tokens if prefix.startswith(t.prefix) or t.prefix.startswith(prefix)
            ]
        if not tokens:
            raise CommandError("No such token.")
        if len(tokens) > 1:
            listed = ", ".join(f"#{t.pk} {t.prefix} ({t.client.name})" for t in tokens)
            raise CommandError(f"The prefix matches several tokens ({listed}): use --id.")
        token = tokens[0]
        if token.revoked_at is not None:
            self.stdout.write(f"Token #{token.pk} ({token.prefix}) was already revoked.")
            return
        revoke_token(token)
        self.stdout.write(f"Revoked token #{token.pk} '{token.name}' of '{token.client.name}'.")
