"""The brand-owner sign-in: the workbench's failed-login lockout, with the same counters."""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "198.51.100.23"


@pytest.fixture
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def portal_login(client: Client, username: str, password: str, ip: str = ATTACKER):
    return client.post(
        reverse("portal:login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_a_brand_owner_with_the_right_password_reaches_the_portal(client, owner, fresh_cache):
    response = portal_login(client, owner.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:dashboard")


def test_five_failed_portal_logins_lock_the_account_from_that_address(client, owner, fresh_cache):
    for _ in range(5):
        assert portal_login(client, owner.username, "wrong").status_code == 200

    locked = portal_login(client, owner.username, PASSWORD)

    assert locked.status_code == 429
    assert b"locked for 15 minutes" in locked.content
    assert "_auth_user_id" not in client.session
    # Another address is not locked out by this one's guesses.
    assert portal_login(Client(), owner.username, PASSWORD, ip="203.0.113.40").status_code == 302


def test_guesses_at_the_portal_and_the_workbench_add_up(client, owner, fresh_cache):
    for _ in range(3):
        portal_login(client, owner.username, "wrong")
    for _ in range(2):
        client.post(
            reverse("login"),
            {"username": owner.username, "password": "wrong"},
            REMOTE_ADDR=ATTACKER,
        )

    assert portal_login(client, owner.username, PASSWORD).status_code == 429


def test_a_successful_portal_login_clears_earlier_failures(client, owner, fresh_cache):
    for _ in range(4):
        portal_login(client, owner.username, "wrong")
    assert portal_login(client, owner.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        portal_login(client, owner.username, "wrong")
    assert portal_login(client, owner.username, PASSWORD).status_code == 302


def test_an_analyst_with_the_right_password_is_turned_away_without_counting_a_failure(
    client, analyst, fresh_cache
):
    for _ in range(6):
        refused = portal_login(client, analyst.username, PASSWORD)
        assert refused.status_code == 200
        assert b"This sign-in is for brand owners" in refused.content

    # The right password guessed nothing: the workbench still lets the analyst in.
    response = client.post(
        reverse("login"), {"username": analyst.username, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 302
