"""A push endpoint is only as trustworthy as its HMAC: no endpoint without a shared secret."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from referrals.choices import AttemptOutcome
from referrals.models import Authority, DeliveryAttempt
from tests.referrals.support import push_to_a_listener

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
    referral = make_referral("US")

    # When the packet is pushed
    result, connected = push_to_a_listener(referral, scheme="http", secret="")

    # Then nothing was sent: the attempt failed for good (not retried), and says why
    assert not connected
    assert result.outcome == AttemptOutcome.FAILED
    attempt = DeliveryAttempt.objects.get(referral=referral)
    assert attempt.outcome == AttemptOutcome.FAILED
    assert "secret" in attempt.error


STORED_SECRET = "s3cr3t-shared-with-iprc-0123456789"


def authority_form(authority: Authority, **changes: str) -> dict:
    """The authority's change page posted back, its routing rules left as they are."""
    data = {
        "code": authority.code,
        "name": authority.name,
        "jurisdiction": authority.jurisdiction,
        "legal_basis": authority.legal_basis,
        "safety_legal_basis": authority.safety_legal_basis,
        "profile": authority.profile,
        "webhook_url": authority.webhook_url,
        "webhook_secret": "",
        "active": "on",
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


@pytest.fixture
def pushing(authorities) -> Authority:
    """US-IPRC with a push endpoint and its shared secret."""
    authority = authorities["US-IPRC"]
    authority.webhook_url = "https://intake.iprc.example/touchstone"
    authority.webhook_secret = STORED_SECRET
    authority.save(update_fields=["webhook_url", "webhook_secret"])
    return authority


def test_the_admin_never_shows_the_stored_webhook_secret(admin_client, pushing):
    page = admin_client.get(reverse("admin:referrals_authority_change", args=[pushing.pk]))

    assert page.status_code == 200
    assert STORED_SECRET not in page.content.decode()
    assert 'type="password" name="webhook_secret"' in page.content.decode()


def test_a_blank_secret_on_edit_keeps_the_stored_one(admin_client, pushing):
    # When the operator changes the name and leaves the masked secret blank
    response = admin_client.post(
        reverse("admin:referrals_authority_change", args=[pushing.pk]),
        authority_form(pushing, name="IPR Center"),
    )

    # Then the page saved (the endpoint still has its secret) and the secret is kept
    assert response.status_code == 302
    pushing.refresh_from_db()
    assert pushing.name == "IPR Center"
    assert pushing.webhook_secret == STORED_SECRET


def test_a_new_secret_entered_on_edit_replaces_the_stored_one(admin_client, pushing):
    response = admin_client.post(
        reverse("admin:referrals_authority_change", args=[pushing.pk]),
        authority_form(pushing, webhook_secret="rotated-secret-9876543210"),
    )

    assert response.status_code == 302
    pushing.refresh_from_db()
    assert pushing.webhook_secret == "rotated-secret-9876543210"


def test_a_webhook_added_in_the_admin_without_a_secret_is_refused(admin_client, authorities):
    # Given an authority with no push endpoint and no secret
    authority = authorities["EU-IPC3"]

    # When the operator adds an endpoint and leaves the secret blank
    response = admin_client.post(
        reverse("admin:referrals_authority_change", args=[authority.pk]),
        authority_form(authority, webhook_url="https://intake.ipc3.example/touchstone"),
    )

    # Then the secret is named as missing and nothing changed
    assert response.status_code == 200
    assert "webhook_secret" in response.context["adminform"].form.errors
    authority.refresh_from_db()
    assert authority.webhook_url == ""
