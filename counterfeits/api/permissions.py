"""Role permissions for the analyst and brand APIs.

Roles are Django groups (``counterfeits.roles``). An authority client authenticates with a bearer
token but is no Django user (``referrals.authentication.AuthorityPrincipal``): it holds no role
here, so every analyst or brand endpoint refuses it before any object is looked up.
"""

from django.contrib.auth.models import AbstractBaseUser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from counterfeits.roles import is_analyst, is_brand_owner


def is_person(user: object) -> bool:
    """A signed-in, active Django user (not an anonymous caller, not an authority client)."""
    return (
        isinstance(user, AbstractBaseUser)
        and user.is_authenticated
        and bool(getattr(user, "is_active", False))
    )


class IsAnalyst(BasePermission):
    """Trust-and-safety analysts and reviewers (and admins)."""

    message = "Only trust-and-safety analysts may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_person(request.user) and is_analyst(request.user)


class IsBrandOwner(BasePermission):
    """Members of the ``brand_owner`` group; what they see is narrowed by brand membership."""

    message = "Only brand owners may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_person(request.user) and is_brand_owner(request.user)


class IsAnalystOrBrandOwner(BasePermission):
    """Analysts see everything; brand owners only what their brands' querysets hold."""

    message = "Only analysts and brand owners may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return is_person(user) and (is_analyst(user) or is_brand_owner(user))
