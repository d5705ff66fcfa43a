"""Helpers shared by the referral tests."""

import socket

from referrals.choices import AttemptKind
from referrals.models import Referral
from referrals.services import PushResult, push


def push_to_a_listener(referral: Referral, *, scheme: str, secret: str) -> tuple[PushResult, bool]:
    """Point the referral's authority at a socket listening on 127.0.0.1 (``scheme``://, signed
    with ``secret``), push the packet, and say whether anything connected to it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.3)
        authority = referral.authority
        authority.webhook_url = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}/touchstone"
        authority.webhook_secret = secret
        authority.save(update_fields=["webhook_url", "webhook_secret"])
        result = push(referral, AttemptKind.PACKET)
        try:
            listener.accept()[0].close()
        except TimeoutError:
            return result, False
        return result, True
