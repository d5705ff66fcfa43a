"""Ed25519 signing of referral packets.

The private key lives at ``SIGNING_KEY_PATH`` (PEM, PKCS#8), made on first use. Its public half
is published as a :class:`SigningKey` whose ``key_id`` is the first 16 hex digits of the SHA-256
of the raw public key. A packet's signature is Ed25519 over the raw 32-byte SHA-256 digest of
its canonical JSON.
"""

import base64
import fcntl
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.utils import timezone

from .models import SigningKey

# Canonical JSON as text: sorted keys, no insignificant white space, non-ASCII kept as is.
canonical_text = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8."""
    return canonical_text(data).encode("utf-8")


def key_id_for(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _write_new_key(path: Path) -> None:
    """Generate a key and put it at ``path`` atomically, readable by the owner only."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, path)


def _lock_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".lock")


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several processes may start at once: the lock makes exactly one of them create the key.
    with open(_lock_path(path), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists() or path.stat().st_size == 0:
            _write_new_key(path)
        data = path.read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


@lru_cache(maxsize=4)
def _key_for_path(path: str, mtime_ns: int) -> tuple[Ed25519PrivateKey, str, str]:
    key = _load_or_create(Path(path))
    public = key.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key, key_id_for(public), base64.b64encode(raw).decode()


def current_key() -> tuple[Ed25519PrivateKey, str]:
    """The signing key and its id; publishes the public key on first use."""
    path = Path(settings.SIGNING_KEY_PATH)
    if not path.exists():
        _load_or_create(path)
    key, key_id, public_b64 = _key_for_path(str(path), path.stat().st_mtime_ns)
    _publish(key_id, public_b64)
    return key, key_id


def _publish(key_id: str, public_b64: str) -> None:
    """Make sure the public key is listed as current before anything is signed with it.

    Not cached per process: signing is rare (once per referral) and a cache would outlive a
    rolled-back transaction, leaving packets whose key_id is missing from /signing-keys/.
    """
    SigningKey.objects.get_or_create(key_id=key_id, defaults={"public_key": public_b64})
    # Any other key still marked current was replaced on disk: retire it, keep it published.
    SigningKey.objects.filter(retired_at__isnull=True).exclude(key_id=key_id).update(
        retired_at=timezone.now()
    )


def reset_cache() -> None:
    """Forget the loaded key (tests and key rotation); the next use reads the file again."""
    _key_for_path.cache_clear()


def rotate_key() -> tuple[str, str, Path]:
    """Retire the current key and start signing with a new one.

    The old private key is moved to ``retired_keys/<key_id>.pem`` next to the key file (kept,
    not deleted, so an operator can prove which key signed what); its public key stays
    published with ``retired_at`` set, so packets it signed still verify. Returns
    (old key id, new key id, where the old private key went).
    """
    path = Path(settings.SIGNING_KEY_PATH)
    _, old_key_id = current_key()  # make sure the outgoing key is published before it goes
    retired_dir = path.parent / "retired_keys"
    retired_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    retired_path = retired_dir / f"{old_key_id}.pem"
    with open(_lock_path(path), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.replace(path, retired_path)
        _write_new_key(path)
    reset_cache()
    _, new_key_id = current_key()  # publishes the new key and retires every other one
    SigningKey.objects.filter(key_id=old_key_id, retired_at__isnull=True).update(
        retired_at=timezone.now()
    )
    return old_key_id, new_key_id, retired_path


def sign_with(key: Ed25519PrivateKey, payload: bytes) -> tuple[str, str]:
    """Return (sha256 hex, base64 Ed25519 signature over the raw 32-byte digest)."""
    digest = hashlib.sha256(payload).digest()
    return digest.hex(), base64.b64encode(key.sign(digest)).decode()


def sign_bytes(payload: bytes) -> tuple[str, str, str]:
    """Return (sha256 hex, base64 signature over the raw digest, key_id)."""
    key, key_id = current_key()
    return (*sign_with(key, payload), key_id)


def verify(payload: bytes, signature_b64: str, public_key_b64: str) -> bool:
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        public.verify(base64.b64decode(signature_b64), hashlib.sha256(payload).digest())
    except (InvalidSignature, ValueError):
        return False
    return True
