"""A push endpoint is only as trustworthy as its HMAC: no endpoint without a shared secret."""

import socket

import pytest
from django.core.exceptions import ValidationError

from referrals.choices import AttemptKind, AttemptOutcome
from referrals.models import DeliveryAttempt
from referrals.services import push

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("secret", ["", "   "])
def test_a_webhook_without_a_shared_secret_is_refused_with_a_field_error(authorities, secret):
    # Given an operator giving an authority a push endpoint but no secret (the admin's form
    # validates the model like this)
    authority = authorities["US-IPRC"]
    authority.webhook_url = "https://intake.iprc.example/touchstone"
    authority.webhook_secret = secret

    # When it is validated
    with pytest.raises(ValidationError) as refused:
        authority.full_clean()

    # Then the secret is named as missing
    assert "webhook_secret" in refused.value.message_dict


def test_a_packet_is_never_pushed_signed_with_an_empty_secret(authorities, make_referral, settings):
    # Given an endpoint that listens (plain http, allowed for this local one), and an authority
    # whose secret was left empty (set outside the admin's form): anyone could compute the HMAC
    # of an empty key
    settings.WEBHOOK_ALLOW_HTTP = True
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.3)
    referral = make_referral("US")
    authority = referral.authority
    authority.webhook_url = f"http://127.0.0.1:{listener.getsockname()[1]}/touchstone"
    authority.webhook_secret = ""
    authority.save(update_fields=["webhook_url", "webhook_secret"])

    # When the packet is pushed
    try:
        result = push(referral, AttemptKind.PACKET)
        # Then nothing was sent: the attempt failed for good (not retried), and says why
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert result.outcome == AttemptOutcome.FAILED
    attempt = DeliveryAttempt.objects.get(referral=referral)
    assert attempt.outcome == AttemptOutcome.FAILED
    assert "secret" in attempt.error
