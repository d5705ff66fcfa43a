"""An authority's own verifier, written from docs/authority-api.md alone, on the API's bytes."""

import base64
import hashlib
import io
import json

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.core.management import call_command

from referrals.models import SigningKey


def fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    return response.content


def verify_as_documented(client, referral_id: int, packet_bytes: bytes | None = None) -> bool:
    """Section 3 of the guide: sha256 of packet.json's bytes, Ed25519 over the raw digest."""
    meta = json.loads(fetch(client, f"/api/v1/referrals/{referral_id}/"))
    if packet_bytes is None:
        packet_bytes = fetch(client, f"/api/v1/referrals/{referral_id}/packet.json")
    digest = hashlib.sha256(packet_bytes).digest()
    if digest.hex() != meta["sha256"]:
        return False
    keys = {k["key_id"]: k for k in json.loads(fetch(client, "/api/v1/signing-keys/"))}
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(keys[meta["key_id"]]["public_key"])
    )
    try:
        public.verify(base64.b64decode(meta["signature"]), digest)
    except InvalidSignature:
        return False
    return True


def test_packet_from_the_api_verifies_with_the_published_key(bearer, us_token, make_referral):
    # Given a referral signed at creation
    referral = make_referral("US")

    # When the authority verifies it as the guide says
    # Then digest and signature hold
    assert verify_as_documented(bearer(us_token[1]), referral.pk) is True


def test_packet_json_is_the_parsed_packet_of_the_detail_and_carries_its_digest(
    bearer, us_token, make_referral
):
    # Given a referral
    referral = make_referral("US")
    client = bearer(us_token[1])

    # When the authority reads the detail and the raw bytes
    detail = client.get(f"/api/v1/referrals/{referral.pk}/").json()
    raw = client.get(f"/api/v1/referrals/{referral.pk}/packet.json")

    # Then they are the same packet, the bytes are the stored ones, the headers repeat the proof
    assert json.loads(raw.content) == detail["packet"]
    assert raw.content == referral.packet_json.encode("utf-8")
    assert raw["X-Touchstone-SHA256"] == detail["sha256"]
    assert raw["X-Touchstone-Key-Id"] == detail["key_id"]
    assert detail["packet"]["schema"] == "touchstone.referral/1"
    assert detail["packet"]["referral_id"] == referral.pk


@pytest.mark.parametrize("position", [0, 57, -2])
def test_one_changed_byte_fails_verification(bearer, us_token, make_referral, position):
    # Given the exact bytes of a packet
    referral = make_referral("US")
    client = bearer(us_token[1])
    packet = bytearray(fetch(client, f"/api/v1/referrals/{referral.pk}/packet.json"))

    # When one byte is changed
    packet[position] ^= 0x01

    # Then the verifier rejects it
    assert verify_as_documented(client, referral.pk, bytes(packet)) is False


def test_signature_from_another_key_fails_verification(bearer, us_token, make_referral):
    # Given a referral whose key_id is swapped for another published key
    old = make_referral("US")
    call_command("rotate_signing_key", stdout=io.StringIO())
    new = make_referral("US")
    assert old.key_id != new.key_id
    type(old).objects.filter(pk=old.pk).update(key_id=new.key_id)

    # When it is verified
    # Then the signature does not hold under the wrong key
    assert verify_as_documented(bearer(us_token[1]), old.pk) is False


def test_packet_signed_by_a_retired_key_still_verifies_after_rotation(
    bearer, us_token, make_referral, settings
):
    # Given a referral signed with the current key
    before = make_referral("US")
    old_key_id = before.key_id

    # When the operator rotates the key and a new referral is signed
    call_command("rotate_signing_key", stdout=io.StringIO())
    after = make_referral("US")

    # Then the old key is published as retired, the new one as current
    client = bearer(us_token[1])
    keys = {k["key_id"]: k for k in client.get("/api/v1/signing-keys/").json()}
    assert keys[old_key_id]["retired_at"] is not None
    assert keys[old_key_id]["current"] is False
    assert keys[after.key_id]["retired_at"] is None
    assert after.key_id != old_key_id
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1
    # and both packets verify, each with its own key
    assert verify_as_documented(client, before.pk) is True
    assert verify_as_documented(client, after.pk) is True
    # and the old private key was kept aside, not deleted
    retired = settings.SIGNING_KEY_PATH.parent / "retired_keys" / f"{old_key_id}.pem"
    assert retired.exists()
    assert retired.stat().st_mode & 0o077 == 0
