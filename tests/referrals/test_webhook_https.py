"""Packets carry personal data and a signature an eavesdropper could replay: push over HTTPS only.

Plain HTTP is allowed only with ``WEBHOOK_ALLOW_HTTP`` (the tests' and ``make chaos``'s local
receivers); other schemes never.
"""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from referrals.choices import AttemptOutcome
from referrals.models import Authority, DeliveryAttempt
from tests.referrals.support import push_to_a_listener

pytestmark = pytest.mark.django_db

NOT_HTTPS = [
    "http://intake.iprc.example/touchstone",
    "ftp://intake.iprc.example/touchstone",
    "http://127.0.0.1:8000/hook",
    "http://169.254.169.254/latest/meta-data/",
]


@pytest.mark.parametrize("url", NOT_HTTPS)
def test_a_webhook_that_is_not_https_is_refused_with_a_field_error(authorities, settings, url):
    # Given an operator giving an authority a push endpoint that is not https (with a secret)
    settings.WEBHOOK_ALLOW_HTTP = False
    authority = authorities["US-IPRC"]
    authority.webhook_url = url
    authority.webhook_secret = "s3cret"  # noqa: S105 - a test value

    # When it is validated (as the admin's form does)
    with pytest.raises(ValidationError) as refused:
        authority.full_clean()

    # Then the URL is the field in error
    assert "webhook_url" in refused.value.message_dict


def test_an_https_webhook_with_a_secret_is_accepted(authorities, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    authority = authorities["US-IPRC"]
    authority.webhook_url = "https://intake.iprc.example/touchstone"
    authority.webhook_secret = "s3cret"  # noqa: S105 - a test value

    authority.full_clean()


def test_plain_http_is_accepted_only_when_allowed_and_other_schemes_never(authorities, settings):
    # Given the setting for local receivers
    settings.WEBHOOK_ALLOW_HTTP = True
    authority = authorities["US-IPRC"]
    authority.webhook_secret = "s3cret"  # noqa: S105 - a test value

    # Then http passes, ftp still does not
    authority.webhook_url = "http://127.0.0.1:8000/hook"
    authority.full_clean()
    authority.webhook_url = "ftp://intake.iprc.example/touchstone"
    with pytest.raises(ValidationError) as refused:
        authority.full_clean()
    assert "webhook_url" in refused.value.message_dict


@pytest.mark.parametrize("allow_http", [False, True])
def test_a_packet_is_never_pushed_to_a_url_that_is_not_allowed(
    authorities, make_referral, settings, allow_http
):
    # Given an endpoint that listens, and an authority whose URL was saved outside the admin's
    # form with a scheme that is not allowed (http without the setting, ftp ever)
    settings.WEBHOOK_ALLOW_HTTP = allow_http
    referral = make_referral("US")
    scheme = "ftp" if allow_http else "http"

    # When the packet is pushed
    result, connected = push_to_a_listener(referral, scheme=scheme, secret="s3cret")

    # Then nothing was sent: the attempt failed for good (not retried), and says why
    assert not connected
    assert result.outcome == AttemptOutcome.FAILED
    attempt = DeliveryAttempt.objects.get(referral=referral)
    assert attempt.outcome == AttemptOutcome.FAILED
    assert "https" in attempt.error


def test_the_admin_refuses_an_authority_whose_webhook_is_not_https(admin_client, settings):
    # Given an operator adding an authority in the admin with a plain-http push endpoint
    settings.WEBHOOK_ALLOW_HTTP = False
    form = {
        "code": "XX-TEST",
        "name": "Test authority",
        "jurisdiction": "US",
        "legal_basis": "A statute",
        "profile": "standard",
        "webhook_url": "http://169.254.169.254/latest/meta-data/",
        "webhook_secret": "s3cret",
        "active": "on",
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
    }

    # When the form is saved
    response = admin_client.post(reverse("admin:referrals_authority_add"), form)

    # Then the page comes back with the URL field in error, and nothing was saved
    assert response.status_code == 200
    assert "webhook_url" in response.context["adminform"].form.errors
    assert not Authority.objects.filter(code="XX-TEST").exists()

    # And with an https endpoint the same form is saved
    form["webhook_url"] = "https://intake.test.example/touchstone"
    response = admin_client.post(reverse("admin:referrals_authority_add"), form)
    assert response.status_code == 302
    assert Authority.objects.get(code="XX-TEST").webhook_url == form["webhook_url"]
