"""Operator commands: issue_token, revoke_token, rotate_signing_key; and the referrals admin."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from referrals.authentication import hash_token
from referrals.models import ApiClient, ApiToken, Authority, SigningKey


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_issue_token_for_an_authority_prints_it_once_and_stores_only_its_hash(authorities, bearer):
    # When the operator issues a named, expiring token to a client of US-IPRC
    raw, notice = run(
        "issue_token", "--authority", "US-IPRC", "--client", "IPRC intake", "--name", "prod",
        "--expires-in", "P90D",
    )  # fmt: skip

    # Then stdout is just the token, and the database holds its hash, never the token
    token = ApiToken.objects.select_related("client").get()
    assert raw.startswith("ts_")
    assert token.key_hash == hash_token(raw)
    assert not ApiToken.objects.filter(key_hash=raw).exists()
    assert token.prefix == raw[:10]
    assert (token.client.name, token.client.authority.code, token.name) == (
        "IPRC intake",
        "US-IPRC",
        "prod",
    )
    assert 89 <= (token.expires_at - timezone.now()).days <= 90
    assert "Shown once" in notice
    # and the token works
    assert bearer(raw).get("/api/v1/referrals/").status_code == 200


def test_an_authority_client_may_hold_several_tokens(authorities):
    # When two tokens are issued to the same client
    first, _ = run("issue_token", "--authority", "EU-IPC3", "--name", "primary")
    second, _ = run("issue_token", "--authority", "EU-IPC3", "--name", "standby")

    # Then both exist under one client
    assert first != second
    assert ApiClient.objects.count() == 1
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["primary", "standby"]


def test_issue_token_for_a_user(analyst, api_client):
    # When a token is issued to an analyst
    raw, _ = run("issue_token", "--user", "analyst")

    # Then it authenticates as that user
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/api/v1/referrals/").status_code == 200
    assert ApiToken.objects.get().client.user == analyst


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "exactly one of --authority"),
        (("--authority", "US-IPRC", "--user", "analyst"), "exactly one of --authority"),
        (("--authority", "NOPE"), "No authority 'NOPE'"),
        (("--user", "nobody"), "No user 'nobody'"),
        (("--authority", "US-IPRC", "--expires-in", "ninety days"), "not a positive ISO-8601"),
        (("--authority", "US-IPRC", "--expires-in=-P1D"), "not a positive ISO-8601"),
    ],
)
def test_issue_token_refuses_unclear_requests(authorities, analyst, args, message):
    # When the command is given conflicting or unknown arguments
    with pytest.raises(CommandError, match=message):
        run("issue_token", *args)

    # Then no token was made
    assert not ApiToken.objects.exists()


def test_issue_token_refuses_an_inactive_authority(authorities):
    # Given an authority the operator switched off (its tokens are refused by the API)
    authority = Authority.objects.get(code="EU-IPC3")
    authority.active = False
    authority.save(update_fields=["active"])

    # When a token is asked for it, then the command refuses instead of printing a dead token
    with pytest.raises(CommandError, match="EU-IPC3.*inactive"):
        run("issue_token", "--authority", "EU-IPC3")
    assert not ApiToken.objects.exists()
    assert not ApiClient.objects.exists()


def test_revoke_token_by_prefix_stops_it_working(authorities, bearer):
    # Given an issued token
    raw, _ = run("issue_token", "--authority", "US-IPRC")

    # When it is revoked by its prefix
    out, _ = run("revoke_token", "--prefix", raw[:10])

    # Then it is refused from then on, and revoking again says so
    assert "Revoked" in out
    assert ApiToken.objects.get().revoked_at is not None
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401
    assert "already revoked" in run("revoke_token", "--id", str(ApiToken.objects.get().pk))[0]


def test_revoke_token_refuses_an_unknown_or_missing_token(authorities):
    # Given a token
    run("issue_token", "--authority", "US-IPRC")

    # When the prefix names no token, or nothing is named
    # Then the command refuses, and the token stays usable
    with pytest.raises(CommandError, match="No such token"):
        run("revoke_token", "--prefix", "ts_zzzzzzz")
    with pytest.raises(CommandError, match="exactly one"):
        run("revoke_token")
    assert ApiToken.objects.get().revoked_at is None


def test_rotate_signing_key_publishes_a_new_current_key_and_retires_the_old(make_referral):
    # Given a key in use
    make_referral("US")
    old = SigningKey.objects.get(retired_at__isnull=True)

    # When the operator rotates it
    out, _ = run("rotate_signing_key")

    # Then the old key is retired, a new one is current, and the output names both
    old.refresh_from_db()
    new = SigningKey.objects.get(retired_at__isnull=True)
    assert old.retired_at is not None
    assert new.key_id != old.key_id
    assert old.key_id in out
    assert new.key_id in out


@pytest.mark.parametrize(
    "model", ["authority", "apiclient", "apitoken", "signingkey", "referral", "deliveryattempt",
              "accesslogentry"],
)  # fmt: skip
def test_admin_lists_referral_models(admin_client, make_referral, bearer, us_token, model):
    # Given a referral that was read once
    referral = make_referral("US")
    bearer(us_token[1]).get(f"/api/v1/referrals/{referral.pk}/")

    # When the operator opens the admin list and the referral's page
    response = admin_client.get(f"/admin/referrals/{model}/")

    # Then it renders
    assert response.status_code == 200
    assert admin_client.get(f"/admin/referrals/referral/{referral.pk}/change/").status_code == 200


def test_access_log_is_read_only_in_the_admin(admin_client, make_referral, bearer, us_token):
    # Given an access log entry
    referral = make_referral("US")
    bearer(us_token[1]).get(f"/api/v1/referrals/{referral.pk}/")
    from referrals.models import AccessLogEntry

    entry = AccessLogEntry.objects.get()

    # When the operator tries to add or delete one
    add = admin_client.get("/admin/referrals/accesslogentry/add/")
    delete = admin_client.post(
        f"/admin/referrals/accesslogentry/{entry.pk}/delete/", {"post": "yes"}
    )

    # Then the admin refuses and the entry is still there
    assert add.status_code == 403
    assert delete.status_code == 403
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_a_revoked_token_cannot_be_brought_back_in_the_admin(admin_client, authorities, bearer):
    # Given a token revoked by the operator (leaked, say)
    raw, _ = run("issue_token", "--authority", "US-IPRC", "--name", "leaked")
    token = ApiToken.objects.get()
    run("revoke_token", "--id", str(token.pk))
    revoked_at = ApiToken.objects.get().revoked_at

    # When someone clears its revocation on the admin's change page
    response = admin_client.post(
        f"/admin/referrals/apitoken/{token.pk}/change/",
        {"name": "leaked", "expires_at_0": "", "expires_at_1": "", "revoked_at_0": "",
         "revoked_at_1": ""},
    )  # fmt: skip

    # Then the revocation stands and the token stays refused
    assert response.status_code in (200, 302)
    assert ApiToken.objects.get().revoked_at == revoked_at
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def client_page_with(token: ApiToken, **token_fields: str) -> dict:
    """The POST of a token's API-client admin page, its one token inline with ``token_fields``."""
    client, prefix = token.client, "tokens"
    return {
        "name": client.name, "authority": client.authority_id, "user": "",
        "created_at_0": f"{client.created_at:%Y-%m-%d}",
        "created_at_1": f"{client.created_at:%H:%M:%S}",
        f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": token.pk, f"{prefix}-0-client": token.client_id,
        f"{prefix}-0-name": token.name,
        **{f"{prefix}-0-{name}": value for name, value in token_fields.items()},
    }  # fmt: skip


def test_the_client_page_cannot_clear_a_revocation(admin_client, authorities, bearer):
    # Given a revoked token, listed on its client's admin page
    raw, _ = run("issue_token", "--authority", "US-IPRC")
    token = ApiToken.objects.get()
    run("revoke_token", "--id", str(token.pk))
    revoked_at = ApiToken.objects.get().revoked_at

    # When the client page is posted back with the inline's revoked_at emptied
    response = admin_client.post(
        f"/admin/referrals/apiclient/{token.client_id}/change/",
        client_page_with(token, expires_at_0="", expires_at_1="", revoked_at_0="", revoked_at_1=""),
    )

    # Then the page saved, and the revocation stands
    assert response.status_code == 302
    assert ApiToken.objects.get().revoked_at == revoked_at
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def test_an_expired_token_cannot_be_revived_in_the_admin(admin_client, authorities, bearer):
    # Given a token issued for a day, whose day has passed
    raw, _ = run("issue_token", "--authority", "US-IPRC", "--name", "short", "--expires-in", "P1D")
    expired_at = timezone.now() - timedelta(hours=1)
    ApiToken.objects.update(expires_at=expired_at)
    token = ApiToken.objects.get()
    later = timezone.now() + timedelta(days=365)

    # When someone moves its expiry a year on, on the token page and on its client's page
    page = admin_client.post(
        f"/admin/referrals/apitoken/{token.pk}/change/",
        {"name": "short", "expires_at_0": f"{later:%Y-%m-%d}", "expires_at_1": "12:00:00",
         "revoked_at_0": "", "revoked_at_1": ""},
    )  # fmt: skip
    inline = admin_client.post(
        f"/admin/referrals/apiclient/{token.client_id}/change/",
        client_page_with(token, expires_at_0=f"{later:%Y-%m-%d}", expires_at_1="12:00:00"),
    )

    # Then both pages saved, the expiry stands, and the token stays refused
    assert page.status_code == 302
    assert inline.status_code == 302
    assert ApiToken.objects.get().expires_at == expired_at
    assert bearer(raw).get("/api/v1/referrals/").status_code == 401


def test_the_token_page_says_to_issue_a_new_token_instead_of_moving_the_expiry(
    admin_client, authorities
):
    run("issue_token", "--authority", "US-IPRC", "--expires-in", "P90D")
    token = ApiToken.objects.get()

    page = admin_client.get(f"/admin/referrals/apitoken/{token.pk}/change/")

    assert "issue_token" in page.content.decode()
    assert "expires_at" in page.context["adminform"].readonly_fields
