"""Failed-login lockout: five failures for one username from one address lock it for 15 minutes.

Counters live in Django's cache (shared Redis in production), keyed by username and client IP,
so one attacker cannot lock a victim out from everywhere and no state lives in a process.
"""

import hashlib

from django.core.cache import cache
from django.http import HttpRequest

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60


def client_ip(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _key(username: str, ip: str) -> str:
    # Hashed: usernames may hold characters that some cache backends refuse in keys.
    raw = f"{username.strip().lower()}\x00{ip}".encode()
    return "workbench:login-failures:" + hashlib.sha256(raw).hexdigest()


def is_locked(username: str, ip: str) -> bool:
    return int(cache.get(_key(username, ip), 0)) >= MAX_FAILURES


def record_failure(username: str, ip: str) -> int:
    """Count one failure; the window starts at the first failure and is not extended."""
    key = _key(username, ip)
    cache.add(key, 0, LOCKOUT_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this failure starts a new window.
        cache.set(key, 1, LOCKOUT_SECONDS)
        return 1


def clear(username: str, ip: str) -> None:
    cache.delete(_key(username, ip))
