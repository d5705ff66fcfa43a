"""Rotate the Ed25519 signing key: retire the current one (still published), make a new one."""

from typing import Any

from django.core.management.base import BaseCommand

from referrals.services import rotate_signing_key


class Command(BaseCommand):
    help = (
        "Move the current signing key aside (kept under retired_keys/ next to it), generate a "
        "new one and mark the old key retired. Packets it signed still verify with its "
        "published public key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        old_key_id, new_key_id, retired_path = rotate_signing_key()
        self.stdout.write(f"Retired key {old_key_id} (private key moved to {retired_path}).")
        self.stdout.write(f"New signing key {new_key_id}.")
