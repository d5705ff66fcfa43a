"""E-mail through Django 6.1's MAILERS: SMTP in production, locmem in tests, no deprecations."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail

from counterfeits.choices import NoticeKind
from counterfeits.models import Notice
from counterfeits.tasks import send_notice_task
from tests.factories import CaseFactory

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_KEY = "Zq8#vT2m!pL9x$Rk4wNc7&Hf1yGb6^Ds3-Ja5_Ue0*Wo+Ii=MnPr"  # noqa: S105

# Prints the default mailer as the settings build it, in a fresh interpreter.
PROBE = """
import json, django
django.setup()
from django.core import mail
backend = mail.mailers.default
print(json.dumps({
    "class": f"{type(backend).__module__}.{type(backend).__name__}",
    "host": getattr(backend, "host", None),
    "port": getattr(backend, "port", None),
    "use_tls": getattr(backend, "use_tls", None),
    "username": getattr(backend, "username", None),
    "timeout": getattr(backend, "timeout", None),
}))
"""


def probe(**env: str) -> tuple[dict, str]:
    """The default mailer under ``env`` (over a clean environment), and the warnings printed."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST", "EMAIL_", "DJANGO_ALLOW_ASYNC"))
    }
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-W", "always", "-c", PROBE],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_settings_use_mailers_and_no_deprecated_email_setting():
    assert "default" in django_settings.MAILERS
    assert not django_settings.is_overridden("EMAIL_BACKEND")
    assert not django_settings.is_overridden("EMAIL_HOST")


def test_production_sends_by_smtp_from_the_environment_without_deprecation_warnings():
    # Given a production environment naming its mail server
    env = {
        "DEBUG": "0",
        "SECRET_KEY": PRODUCTION_KEY,
        "EMAIL_HOST": "smtp.touchstone.example",
        "EMAIL_PORT": "2525",
        "EMAIL_USE_TLS": "true",
        "EMAIL_HOST_USER": "notices",
        "EMAIL_HOST_PASSWORD": "not-a-real-password",
    }

    # When the settings build the default mailer
    mailer, warnings = probe(**env)

    # Then it is SMTP to that server, and nothing warns about deprecated e-mail settings
    assert mailer == {
        "class": "django.core.mail.backends.smtp.EmailBackend",
        "host": "smtp.touchstone.example",
        "port": 2525,
        "use_tls": True,
        "username": "notices",
        "timeout": 10,
    }
    assert "deprecated" not in warnings.lower(), warnings


def test_production_defaults_to_smtp_on_localhost_not_to_the_console():
    mailer, _ = probe(DEBUG="0", SECRET_KEY=PRODUCTION_KEY)

    assert mailer["class"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (mailer["host"], mailer["port"]) == ("localhost", 25)


def test_a_developer_gets_the_console_backend_and_may_choose_another():
    console, warnings = probe(DEBUG="1")
    dummy, _ = probe(DEBUG="1", EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")

    assert console["class"] == "django.core.mail.backends.console.EmailBackend"
    assert dummy["class"] == "django.core.mail.backends.dummy.EmailBackend"
    assert "deprecated" not in warnings.lower(), warnings


@pytest.mark.django_db
def test_notices_land_in_the_test_outbox(mailoutbox):
    # Given a notice owed to a seller
    notice = Notice.objects.create(
        case=CaseFactory(),
        kind=NoticeKind.STATEMENT_OF_REASONS,
        recipient="seller@example.com",
        subject="Your seller account was closed",
        body="Statement of reasons.",
        html_body="<p>Statement of reasons.</p>",
    )

    # When the notice task runs
    assert send_notice_task(notice.pk) is True

    # Then the message is in pytest-django's locmem outbox (MAILERS overridden for tests)
    assert [m.subject for m in mailoutbox] == ["Your seller account was closed"]
    assert mail.outbox is mailoutbox
    assert mailoutbox[0].alternatives[0][1] == "text/html"
