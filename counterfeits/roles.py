"""Roles are Django groups: ``analyst``, ``reviewer``, ``brand_owner``; admins are superusers."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .choices import ActorRole

ANALYST = "analyst"
REVIEWER = "reviewer"
BRAND_OWNER = "brand_owner"
ROLE_GROUPS = (ANALYST, REVIEWER, BRAND_OWNER)


def group_names(user: AbstractBaseUser | AnonymousUser | None) -> set[str]:
    if user is None or not user.is_authenticated or not hasattr(user, "groups"):
        return set()
    cached = getattr(user, "_touchstone_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._touchstone_groups = cached
    return cached


def is_analyst(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Analysts and reviewers work cases; admins may do everything an analyst may."""
    if user is None or not user.is_authenticated:
        return False
    return bool(getattr(user, "is_superuser", False)) or bool(
        group_names(user) & {ANALYST, REVIEWER}
    )


def is_reviewer(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return is_analyst(user)


def is_brand_owner(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return BRAND_OWNER in group_names(user)


def actor_role(user: AbstractBaseUser | None) -> str:
    """The role written on a timeline event (packets show roles, never names)."""
    if user is None:
        return ActorRole.SYSTEM
    names = group_names(user)
    if REVIEWER in names:
        return ActorRole.REVIEWER
    if ANALYST in names or getattr(user, "is_superuser", False):
        return ActorRole.ANALYST
    if BRAND_OWNER in names:
        return ActorRole.BRAND_OWNER
    return ActorRole.ANALYST
