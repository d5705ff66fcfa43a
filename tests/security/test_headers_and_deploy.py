"""Deployment settings and security headers: what a browser is told about every answer."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.security.conftest import client_for

ROOT = Path(__file__).resolve().parents[2]
# A production-shaped SECRET_KEY: long, many distinct characters (not a real secret).
PRODUCTION_KEY = "Zq8#vT2m!pL9x$Rk4wNc7&Hf1yGb6^Ds3-Ja5_Ue0*Wo+Ii=MnPr"  # noqa: S105


def test_check_deploy_is_clean_with_production_settings():
    # Given the settings a production deployment sets: DEBUG off, a real key, its host name
    env = {
        # Not pytest's variables, nor the async-unsafe switch the browser tests set.
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith("PYTEST") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
        },
        "DEBUG": "0",
        "SECRET_KEY": PRODUCTION_KEY,
        "ALLOWED_HOSTS": "touchstone.example",
        "CELERY_SKIP_CHECKS": "1",
    }

    # When Django's deployment checklist runs, failing on any warning
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # Then it finds nothing to complain about
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "secret_key",
    [None, "", "dev-insecure-touchstone-secret-key-change-me-in-production"],
    ids=["unset", "empty", "development-default"],
)
def test_production_refuses_to_start_without_its_own_secret_key(secret_key):
    # Given production mode whose SECRET_KEY is missing, empty or the published development one
    # (which signs sessions and the sellers' appeal links: anyone could forge them)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST") and k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "SECRET_KEY"}
    }
    env.update(DEBUG="0", ALLOWED_HOSTS="touchstone.example", CELERY_SKIP_CHECKS="1")
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key

    # When anything loads the settings
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    # Then it stops at once, naming the setting
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("role", ["anonymous", "analyst", "brand_own", "authority_us"])
def test_every_answer_carries_csp_without_inline_script_nosniff_and_frame_denial(world, role):
    # Given pages and API answers for each kind of caller
    client = client_for(world, role)
    paths = ["/accounts/login/", "/healthz", "/api/v1/referrals/", "/api/v1/docs/", "/"]
    paths += ["/cases/", f"/cases/{world.case.pk}/", "/portal/", "/portal/reports/"]

    for path in paths:
        # When the path is fetched
        response = client.get(path)

        # Then the browser is told: scripts from our origin only, never inline; no sniffing;
        # never in a frame
        csp = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
        assert "'self'" in directives["script-src"], (path, csp)
        assert "unsafe-inline" not in csp, (path, csp)
        assert "unsafe-eval" not in csp, (path, csp)
        assert directives["frame-ancestors"] == "'none'"
        assert directives["object-src"] == "'none'"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"


def test_hsts_is_sent_on_tls_only(settings):
    # Given production's HSTS settings
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = False
    client = Client()

    # When the same page is fetched over TLS and over plain HTTP
    secure = client.get("/accounts/login/", secure=True)
    plain = client.get("/accounts/login/")

    # Then only the TLS answer pins HTTPS (a plain-HTTP HSTS header means nothing to browsers)
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Strict-Transport-Security" not in plain


def test_plain_http_is_redirected_to_https_except_the_health_check(db, settings):
    # Given production's redirect
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    client = Client()

    # When a page and the load balancer's health check come over plain HTTP
    page = client.get("/cases/")
    health = client.get("/healthz")

    # Then the page is sent to HTTPS and the health check answers where it is asked
    assert page.status_code == 301
    assert page["Location"].startswith("https://")
    assert health.status_code in (200, 503)


def test_no_template_holds_inline_script_or_event_handlers():
    # Given every template of the project
    templates = [
        p for p in ROOT.glob("**/templates/**/*.html")
        if ".venv" not in p.parts and "node_modules" not in p.parts
    ]  # fmt: skip
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
    handler = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=\s*[\"']", re.I)

    # Then none has a <script> without src, an on*= handler or a javascript: URL
    offenders = []
    for path in templates:
        text = path.read_text()
        if inline_script.search(text) or handler.search(text) or "javascript:" in text.lower():
            offenders.append(str(path.relative_to(ROOT)))
    assert templates
    assert offenders == []
