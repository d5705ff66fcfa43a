"""Every authority endpoint × every kind of caller: the status, and no packet data when refused."""

import pytest

from referrals.models import AccessLogEntry, Referral

ENDPOINTS = {
    "list": ("get", "/api/v1/referrals/"),
    "detail": ("get", "/api/v1/referrals/{id}/"),
    "packet_json": ("get", "/api/v1/referrals/{id}/packet.json"),
    "packet_pdf": ("get", "/api/v1/referrals/{id}/packet.pdf"),
    "acknowledge": ("post", "/api/v1/referrals/{id}/acknowledge/"),
    "signing_keys": ("get", "/api/v1/signing-keys/"),
}

# caller -> endpoint -> expected status. "other" is a valid token of another authority.
EXPECTED = {
    "none": dict.fromkeys(ENDPOINTS, 401) | {"signing_keys": 200},
    "bad": dict.fromkeys(ENDPOINTS, 401),
    "expired": dict.fromkeys(ENDPOINTS, 401),
    "revoked": dict.fromkeys(ENDPOINTS, 401),
    "other": dict.fromkeys(ENDPOINTS, 404) | {"list": 200, "signing_keys": 200},
    "right": dict.fromkeys(ENDPOINTS, 200),
}
REFUSED = {
    (caller, endpoint)
    for caller, row in EXPECTED.items()
    for endpoint, code in row.items()
    if code >= 400 or (caller == "other" and endpoint == "list")
}


@pytest.fixture
def callers(bearer, api_client, us_token, eu_token, expired_us_token, revoked_us_token):
    return {
        "none": api_client,
        "bad": bearer("ts_this-is-not-a-token-that-was-ever-issued"),
        "expired": bearer(expired_us_token[1]),
        "revoked": bearer(revoked_us_token[1]),
        "other": bearer(eu_token[1]),
        "right": bearer(us_token[1]),
    }


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("caller", list(EXPECTED))
def test_authority_endpoint_answers_each_caller_as_expected(
    caller, endpoint, callers, make_referral
):
    # Given a US referral, and a caller with a kind of credential
    referral = make_referral("US", name="Wanda Counterfeit-Seller")
    method, template = ENDPOINTS[endpoint]
    url = template.format(id=referral.pk)
    body = {"authority_reference": "IPRC-2025-0001"} if method == "post" else None

    # When it calls the endpoint
    response = getattr(callers[caller], method)(url, body, format="json" if body else None)

    # Then the status is the expected one
    assert response.status_code == EXPECTED[caller][endpoint], response.content[:300]
    if (caller, endpoint) in REFUSED:
        # and a refused reply carries nothing of the packet: no seller, no digest, no signature
        assert b"Wanda" not in response.content
        assert referral.sha256.encode() not in response.content
        assert referral.signature.encode() not in response.content
        assert response["Content-Type"].startswith("application/json")
    if caller != "right" and endpoint in {"detail", "packet_json", "packet_pdf", "acknowledge"}:
        # and nothing changed: no acknowledgement, no access recorded for the referral
        unchanged = Referral.objects.get(pk=referral.pk)
        assert unchanged.acknowledged_at is None
        assert unchanged.authority_reference == ""
        assert unchanged.status == referral.status
        assert not AccessLogEntry.objects.filter(referral=referral).exists()


def test_unauthenticated_reply_names_the_bearer_scheme(api_client, make_referral):
    # Given a referral
    referral = make_referral("US")

    # When someone calls without a token
    response = api_client.get(f"/api/v1/referrals/{referral.pk}/")

    # Then the 401 says how to authenticate
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_other_authority_cannot_tell_a_missing_referral_from_someone_elses(
    bearer, eu_token, make_referral
):
    # Given a US referral and the id after it, which does not exist
    referral = make_referral("US")
    client = bearer(eu_token[1])

    # When the EU authority asks for both
    existing = client.get(f"/api/v1/referrals/{referral.pk}/")
    missing = client.get(f"/api/v1/referrals/{referral.pk + 1}/")

    # Then both answers are the same 404
    assert existing.status_code == missing.status_code == 404
    assert existing.json() == missing.json()


def test_brand_owner_may_not_read_referrals(api_client, brand_owner_user, make_referral):
    # Given a signed-in brand owner
    referral = make_referral("US", name="Wanda Counterfeit-Seller")
    api_client.force_authenticate(brand_owner_user)

    # When they ask for referrals
    listing = api_client.get("/api/v1/referrals/")
    detail = api_client.get(f"/api/v1/referrals/{referral.pk}/")

    # Then the role is refused, with no data
    assert listing.status_code == detail.status_code == 403
    assert b"Wanda" not in listing.content + detail.content


def test_analyst_reads_every_referral_but_may_not_acknowledge(api_client, analyst, make_referral):
    # Given referrals to both authorities and a signed-in analyst
    us = make_referral("US")
    eu = make_referral("DE")
    api_client.force_authenticate(analyst)

    # When the analyst lists, reads and tries to acknowledge
    listing = api_client.get("/api/v1/referrals/")
    detail = api_client.get(f"/api/v1/referrals/{eu.pk}/")
    ack = api_client.post(
        f"/api/v1/referrals/{us.pk}/acknowledge/", {"authority_reference": "X"}, format="json"
    )

    # Then both referrals are listed and readable, the acknowledgement is refused, nothing changed
    assert {r["id"] for r in listing.json()["results"]} == {us.pk, eu.pk}
    assert detail.status_code == 200
    assert detail.json()["packet"]["seller"]["address"]["country"] == "DE"
    assert ack.status_code == 403
    assert Referral.objects.get(pk=us.pk).acknowledged_at is None
    # and the analyst's read is in the access log under their name
    entry = AccessLogEntry.objects.get(referral=eu)
    assert entry.user == analyst
    assert entry.client is None


def test_tokens_of_a_deactivated_authority_stop_working(bearer, us_token, make_referral):
    # Given a referral and a working token of its authority
    referral = make_referral("US", name="Wanda Counterfeit-Seller")
    client = bearer(us_token[1])
    assert client.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200

    # When the authority is deactivated
    referral.authority.active = False
    referral.authority.save(update_fields=["active"])

    # Then its token is refused, with no data
    response = client.get(f"/api/v1/referrals/{referral.pk}/")
    assert response.status_code == 401
    assert b"Wanda" not in response.content
