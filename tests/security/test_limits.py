"""Limits: nobody can ask for everything, send anything, or guess forever."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from appeals.models import Appeal
from config.clients import client_ip
from counterfeits.models import Case, Evidence, Report
from sellers.models import Seller
from tests.factories import PASSWORD, BrandFactory, SellerFactory, UserFactory
from tests.security.conftest import PNG, client_for

# The reverse proxy in front of the app, as gunicorn sees it.
PROXY = "10.0.0.2"


@pytest.mark.parametrize(
    ("path", "model"), [("/api/v1/cases/", Case), ("/api/v1/sellers/", Seller)]
)
def test_page_size_is_capped_whatever_the_caller_asks(world, path, model):
    # Given more rows than the largest page
    seller, brand = SellerFactory(), BrandFactory()
    if model is Case:
        Case.objects.bulk_create([Case(seller=seller, brand=brand) for _ in range(205)])
    else:
        Seller.objects.bulk_create(
            [Seller(external_id=f"BULK-{n}", name=f"Bulk {n}", country="US") for n in range(205)]
        )
    client = client_for(world, "analyst")

    # When an analyst asks for a page of a million
    response = client.get(path, {"page_size": 1_000_000})

    # Then they get the cap, and a link to the rest
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 200
    assert body["next"]


def test_a_body_over_the_upload_limit_is_refused_before_it_is_read(world, settings):
    # Given a small body limit, and a brand owner filing a report with a huge explanation
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = client_for(world, "brand_own")
    reports = Report.objects.count()
    body = {
        "brand": world.brand.pk,
        "seller": world.seller.pk,
        "reason": "counterfeit",
        "explanation": "x" * 50_000,
        "notifier_name": "Desk",
        "notifier_email": "desk@brand.example",
        "good_faith": True,
    }

    # When it is sent as JSON to the API and as a form to the portal
    api = client.post("/api/v1/reports/", json.dumps(body), content_type="application/json")
    page = client.post("/portal/reports/new/", body)

    # Then both are refused as too large (never a 500), and no report was made
    assert api.status_code in (400, 413), api.content[:200]
    assert page.status_code in (400, 413), page.content[:200]
    assert Report.objects.count() == reports


def test_an_evidence_file_over_the_limit_is_refused_with_a_field_error(world, settings):
    # Given a 1 kB evidence cap, and a brand owner attaching a 4 kB image
    settings.MAX_UPLOAD_BYTES = 1024
    client = client_for(world, "brand_own")
    reports, evidence = Report.objects.count(), Evidence.objects.count()
    big = SimpleUploadedFile("big.png", PNG + b"\0" * 4096, content_type="image/png")

    # When the report is filed with it
    response = client.post(
        "/api/v1/reports/",
        {
            "brand": world.brand.pk,
            "seller": world.seller.pk,
            "reason": "counterfeit",
            "explanation": "Photos of the fake.",
            "notifier_name": "Desk",
            "notifier_email": "desk@brand.example",
            "good_faith": True,
            "evidence": [big],
        },
    )

    # Then it is a 400 naming the evidence, and nothing was stored
    assert response.status_code == 400
    assert "evidence" in response.json()
    assert (Report.objects.count(), Evidence.objects.count()) == (reports, evidence)


def test_an_authority_over_its_rate_gets_429_with_retry_after(world, settings):
    # Given a rate of three requests a minute
    settings.AUTHORITY_THROTTLE_RATE = "3/min"
    client = client_for(world, "authority_us")

    # When the authority asks four times
    answers = [client.get("/api/v1/referrals/") for _ in range(4)]

    # Then the fourth is throttled and says when to come back
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1]["Retry-After"]) > 0


@pytest.mark.parametrize(
    ("login_path", "role"), [("/accounts/login/", "analyst"), ("/portal/login/", "brand_own")]
)
def test_login_locks_after_repeated_failures_even_for_the_right_password(world, login_path, role):
    # Given a user, and someone guessing their password
    user = world.users[role]
    client = Client()
    for _ in range(5):
        client.post(login_path, {"username": user.username, "password": "wrong-guess"})

    # When the right password comes next
    response = client.post(login_path, {"username": user.username, "password": PASSWORD})

    # Then it is refused (too many attempts), and no session was opened
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_login_locks_after_repeated_failures_like_the_others(db, admin_user):
    # Given the operator's account, and someone guessing its password at the admin's own page
    client = Client()
    for _ in range(5):
        client.post("/admin/login/", {"username": admin_user.username, "password": "wrong-guess"})

    # When the right password comes next
    response = client.post("/admin/login/", {"username": admin_user.username, "password": PASSWORD})

    # Then it is refused (too many attempts), and no session was opened
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_behind_one_proxy_a_guesser_cannot_lock_the_operator_out_of_the_admin(
    db, admin_user, settings
):
    # Given the app behind one proxy, and someone guessing the operator's password through it
    settings.TRUSTED_PROXIES = 1
    for _ in range(5):
        Client().post(
            "/admin/login/",
            {"username": admin_user.username, "password": "wrong-guess"},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="198.51.100.66",
        )

    # When the operator signs in from their own address, through the same proxy
    operator = Client()
    response = operator.post(
        "/admin/login/",
        {"username": admin_user.username, "password": PASSWORD},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )

    # Then they are let in: the guesser's lock holds only the guesser's address
    assert response.status_code == 302
    assert "_auth_user_id" in operator.session


@pytest.mark.parametrize("target", ["seller_appeal", "report_api"])
def test_a_multipart_body_larger_than_every_file_together_is_refused_unread(
    world, settings, target
):
    # Given small caps (1 kB a file, 10 kB of fields), and a file far bigger than all of them
    # together could be: files are otherwise streamed whole to disk before they are checked
    settings.MAX_UPLOAD_BYTES = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    huge = SimpleUploadedFile("huge.png", PNG + b"\0" * 200_000, content_type="image/png")
    client = client_for(world, "brand_own")
    if target == "seller_appeal":
        client, path = Client(), f"/appeal/{world.other_seller_token}/"
        body = {"statement": "Genuine goods.", "evidence": [huge]}
    else:
        path = "/api/v1/reports/"
        body = {"brand": world.brand.pk, "seller": world.seller.pk, "evidence": [huge]}
    reports, appeals = Report.objects.count(), Appeal.objects.count()

    # When it is posted
    response = client.post(path, body)

    # Then it is refused as too large before a byte of the body is read, and nothing was made
    assert response.status_code == 413, response.content[:300]
    assert response.wsgi_request.META["wsgi.input"].read_started is False
    assert (Report.objects.count(), Appeal.objects.count()) == (reports, appeals)


def ask_reset(email: str, ip: str, forwarded_for: str | None = None):
    extra = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    return Client().post("/accounts/password_reset/", {"email": email}, REMOTE_ADDR=ip, **extra)


def test_password_reset_mails_one_address_at_most_three_times_an_hour(db, mailoutbox):
    # Given a user, and someone asking for their password to be reset again and again, from
    # many client addresses
    user = UserFactory(email="victim@example.com")
    answers = [ask_reset(user.email, f"198.51.100.{n}") for n in range(1, 7)]

    # Then three e-mails went out, no more; every request got the same answer as a request
    # that sent one (nothing tells the caller it was throttled)
    assert len(mailoutbox) == 3
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, "/accounts/password_reset/done/")
    }


def test_password_reset_from_one_client_sends_at_most_ten_mails_an_hour(db, mailoutbox):
    # Given one client asking resets for many different users' addresses
    users = UserFactory.create_batch(12)
    answers = [ask_reset(user.email, "203.0.113.7") for user in users]

    # Then ten e-mails went out, no more, and the rest were answered as if sent
    assert len(mailoutbox) == 10
    assert {(a.status_code, a["Location"]) for a in answers} == {
        (302, "/accounts/password_reset/done/")
    }
    # And another client is not held back by it
    assert ask_reset(users[-1].email, "203.0.113.8").status_code == 302
    assert len(mailoutbox) == 11


def test_a_throttled_password_reset_answers_exactly_as_an_unknown_address(db, mailoutbox):
    # Given an address whose budget is spent, and an address nobody has
    user = UserFactory(email="victim@example.com")
    for n in range(3):
        ask_reset(user.email, f"198.51.100.{n}")
    mailoutbox.clear()

    # When both are asked for
    throttled = ask_reset(user.email, "198.51.100.50")
    unknown = ask_reset("nobody@example.com", "198.51.100.51")

    # Then the answers are the same, and no mail went out
    assert (throttled.status_code, throttled["Location"]) == (
        unknown.status_code,
        unknown["Location"],
    )
    assert mailoutbox == []


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_buys_no_more_resets(
    db, mailoutbox, settings
):
    # Given clients talking to the app directly, and one client naming a new address in
    # X-Forwarded-For on every request
    settings.TRUSTED_PROXIES = 0
    users = UserFactory.create_batch(12)
    for n, user in enumerate(users):
        ask_reset(user.email, "203.0.113.7", forwarded_for=f"198.51.100.{n}")

    # Then the header is ignored: ten e-mails, the client's budget
    assert len(mailoutbox) == 10


def test_behind_one_proxy_each_client_has_its_own_reset_budget(db, mailoutbox, settings):
    # Given the app behind one proxy (every request comes from its address), and one client
    # spending its hourly budget
    settings.TRUSTED_PROXIES = 1
    users = UserFactory.create_batch(12)
    for user in users[:11]:
        ask_reset(user.email, PROXY, forwarded_for="198.51.100.1")
    assert len(mailoutbox) == 10

    # When another client behind the same proxy asks
    ask_reset(users[11].email, PROXY, forwarded_for="198.51.100.2")

    # Then its e-mail goes out
    assert len(mailoutbox) == 11
    assert mailoutbox[-1].to == [users[11].email]


def test_behind_one_proxy_a_forged_left_entry_buys_no_more_resets(db, mailoutbox, settings):
    # Given one client behind the proxy that puts a new made-up address in front of the one the
    # proxy appends for it, on every request
    settings.TRUSTED_PROXIES = 1
    users = UserFactory.create_batch(12)
    for n, user in enumerate(users):
        ask_reset(user.email, PROXY, forwarded_for=f"192.0.2.{n}, 198.51.100.1")

    # Then the proxy's entry (the right-most) is the client: ten e-mails, no more
    assert len(mailoutbox) == 10


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "expected"),
    [
        (0, None, "203.0.113.1"),
        (0, "198.51.100.1", "203.0.113.1"),
        (1, None, "203.0.113.1"),
        (1, "", "203.0.113.1"),
        (1, "198.51.100.1", "198.51.100.1"),
        (1, " 192.0.2.9 ,  198.51.100.1 ", "198.51.100.1"),
        (1, "192.0.2.9, 2001:db8::1", "2001:db8::1"),
        (2, "192.0.2.9, 198.51.100.1, 10.0.0.1", "198.51.100.1"),
        # Fewer entries than proxies: the left-most, added by the outermost proxy there was.
        (2, "198.51.100.1", "198.51.100.1"),
        (3, "198.51.100.1, 10.0.0.1", "198.51.100.1"),
        # Junk is no address: the peer's address is used instead.
        (1, "not-an-ip", "203.0.113.1"),
        (1, "198.51.100.1, junk", "203.0.113.1"),
        (1, "198.51.100.1,", "203.0.113.1"),
        (2, "unknown", "203.0.113.1"),
    ],
)
def test_the_client_address_is_the_nth_from_the_right_of_x_forwarded_for(
    rf, settings, trusted, forwarded_for, expected
):
    settings.TRUSTED_PROXIES = trusted
    extra = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    request = rf.get("/", REMOTE_ADDR="203.0.113.1", **extra)

    assert client_ip(request) == expected


def test_api_throttles_count_proxies_as_the_rest_of_the_app_does(rf, settings):
    # DRF's own rule (NUM_PROXIES unset) takes the whole, forgeable, X-Forwarded-For header
    request = rf.get("/", REMOTE_ADDR="203.0.113.1", HTTP_X_FORWARDED_FOR="198.51.100.1")

    assert api_settings.NUM_PROXIES == settings.TRUSTED_PROXIES
    assert BaseThrottle().get_ident(request) == client_ip(request)
