"""Failed-login lockout: five failures for one username from one address lock it for 15 minutes.

Counters live in Django's cache (shared Redis in production), keyed by username and client IP,
so one attacker cannot lock a victim out from everywhere and no state lives in a process. The
workbench and the brand-owner portal share the counters (``LockoutMixin``): guesses spread over
both sign-in pages still add up.

Password-reset e-mails are counted the same way: at most ``RESET_MAX_PER_EMAIL`` per address and
``RESET_MAX_PER_IP`` per client address an hour, so nobody can make the server mail a victim, or
anyone, without end (``ThrottledPasswordResetMixin``).
"""

import hashlib

from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from config import clients

MAX_FAILURES = 5
LOCKOUT_SECONDS = 15 * 60
RESET_MAX_PER_EMAIL = 3
RESET_MAX_PER_IP = 10
RESET_WINDOW_SECONDS = 60 * 60


def client_ip(request: HttpRequest) -> str:
    """The counters' key for the client: its address behind ``TRUSTED_PROXIES`` proxies."""
    return clients.client_ip(request) or "unknown"


def _key(username: str, ip: str) -> str:
    # Hashed: usernames may hold characters that some cache backends refuse in keys.
    raw = f"{username.strip().lower()}\x00{ip}".encode()
    return "workbench:login-failures:" + hashlib.sha256(raw).hexdigest()


def is_locked(username: str, ip: str) -> bool:
    return int(cache.get(_key(username, ip), 0)) >= MAX_FAILURES


def _count(key: str, window_seconds: int) -> int:
    """Count one event under ``key`` and return the count; the window starts at the first event
    and is not extended. ``incr`` is atomic in Redis, so processes sharing it never lose one."""
    cache.add(key, 0, window_seconds)
    try:
        return cache.incr(key)
    except ValueError:
        # The key expired between add and incr: this event starts a new window.
        cache.set(key, 1, window_seconds)
        return 1


def record_failure(username: str, ip: str) -> int:
    """Count one failure; the window starts at the first failure and is not extended."""
    return _count(_key(username, ip), LOCKOUT_SECONDS)


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


def _reset_key(kind: str, value: str) -> str:
    return f"workbench:password-resets:{kind}:" + hashlib.sha256(value.encode()).hexdigest()


def reset_mail_allowed(email: str, ip: str) -> bool:
    """Count one password-reset request and say whether its e-mail may go out: not when this
    client address or this e-mail address has had its hourly budget. A request held back by its
    client address does not spend the e-mail address's budget."""
    if _count(_reset_key("ip", ip), RESET_WINDOW_SECONDS) > RESET_MAX_PER_IP:
        return False
    email_key = _reset_key("email", email.strip().lower())
    return _count(email_key, RESET_WINDOW_SECONDS) <= RESET_MAX_PER_EMAIL


class ThrottledPasswordResetMixin:
    """For a ``PasswordResetView``: beyond the hourly budgets nothing is sent, and the answer is
    the usual redirect to the "done" page, so the caller learns neither that it was throttled
    nor whether the address has an account."""

    request: HttpRequest

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if reset_mail_allowed(form.cleaned_data["email"], client_ip(self.request)):
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())
