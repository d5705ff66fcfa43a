"""Bearer-token authentication: ``Authorization: Bearer <token>``; only SHA-256 is stored."""

import hashlib
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from .models import ApiToken

# last_used_at is written at most this often per token, so reads do not all become writes.
LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class AuthorityPrincipal(AnonymousUser):
    """The request.user of an authority client: authenticated, but no Django user and no roles."""

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.client = token.client
        self.authority = token.client.authority

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    def __str__(self) -> str:
        return f"client:{self.client.name}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Malformed token.") from exc
        token = (
            ApiToken.objects.select_related("client__authority", "client__user")
            .filter(key_hash=hash_token(raw))
            .first()
        )
        if token is None or not token.is_usable():
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        authority = token.client.authority
        if authority is not None and not authority.active:
            # A deactivated authority keeps its tokens on file but can no longer use them.
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        user = token.client.user
        if user is not None:
            if not user.is_active:
                raise exceptions.AuthenticationFailed("User inactive.")
            return user, token
        return AuthorityPrincipal(token), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
