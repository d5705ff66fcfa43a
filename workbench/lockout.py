"""Failed-login lockout: five failures for one username from one address lock it for 15 minutes.

Counters live in Django's cache (shared Redis in production), keyed by username and client IP,
so one attacker cannot lock a victim out from everywhere and no state lives in a process. The
workbench and the brand-owner portal share the counters (``LockoutMixin``): guesses spread over
both sign-in pages still add up.
"""

import hashlib

from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

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


class LockoutMixin:
    """For a ``LoginView``: refuse a username from an address after ``MAX_FAILURES`` failures.

    While locked, even the right password is refused (429), so guessing gains nothing. A wrong
    password counts; a right password refused for another reason (not a brand owner at the
    portal, say) does not, since it guessed nothing.
    """

    request: HttpRequest

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        username = request.POST.get("username", "")
        if is_locked(username, client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                "Too many failed sign-in attempts. This account is locked for "
                f"{LOCKOUT_SECONDS // 60} minutes from this address.",
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        if form.get_user() is None:
            record_failure(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        clear(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_valid(form)
