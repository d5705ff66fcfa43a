"""Who may open the workbench: analysts, reviewers and admins; brand owners get a 403 page."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from counterfeits.roles import ANALYST, REVIEWER, group_names, is_analyst, is_brand_owner


def analyst_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous visitors go to the login page; signed-in people without a role get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_active or not is_analyst(user):
            return render(
                request,
                "workbench/forbidden.html",
                {"brand_portal_url": _portal_url() if is_brand_owner(user) else ""},
                status=403,
            )
        return view(request, *args, **kwargs)

    return wrapped


def _portal_url() -> str:
    try:
        return reverse("portal:dashboard")
    except NoReverseMatch:
        return ""


def role_label(user: object) -> str:
    """The role shown next to the user's name in the top bar."""
    if getattr(user, "is_superuser", False):
        return "admin"
    names = group_names(user)
    if REVIEWER in names:
        return "reviewer"
    if ANALYST in names:
        return "analyst"
    return ""


def is_htmx(request: HttpRequest) -> bool:
    """An htmx request that wants a fragment (a history restore wants the whole page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )
