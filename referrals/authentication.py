"""Bearer-token authentication: ``Authorization: Bearer <token>``; only SHA-256 is stored."""

import hashlib
from datetime import timedelta
from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from config.rows import Reader, columns_of, execute_prepared, instance, reader, split_row

from .models import ApiClient, ApiToken, Authority

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


@cache
def _token_sql(vendor: str) -> str:
    """The token with its client, the client's authority and user in one statement.

    Written out rather than built by the ORM: the ORM's compile of this four-table
    ``select_related`` was most of the lookup's cost on every API request. On PostgreSQL the
    user's group names come along (``counterfeits.roles`` reads them for every permission check).
    """
    quote = connection.ops.quote_name
    user = get_user_model()
    groups = "NULL"
    if vendor == "postgresql":
        through = user.groups.through._meta
        groups = (
            f"ARRAY(SELECT g.{quote('name')} FROM {quote(through.db_table)} ug "  # noqa: S608 - model names only
            f"JOIN {quote(Group._meta.db_table)} g ON g.{quote('id')} = ug.{quote('group_id')} "
            f"WHERE ug.{quote('user_id')} = c.{quote('user_id')})"
        )
    columns = [
        *columns_of(ApiToken, "t"),
        *columns_of(ApiClient, "c"),
        *columns_of(Authority, "a"),
        *columns_of(user, "u"),
        groups,
    ]
    return (
        f"SELECT {', '.join(columns)} FROM {quote(ApiToken._meta.db_table)} t "  # noqa: S608 - model names only
        f"JOIN {quote(ApiClient._meta.db_table)} c ON c.{quote('id')} = t.{quote('client_id')} "
        f"LEFT JOIN {quote(Authority._meta.db_table)} a "
        f"ON a.{quote('id')} = c.{quote('authority_id')} "
        f"LEFT JOIN {quote(user._meta.db_table)} u ON u.{quote('id')} = c.{quote('user_id')} "
        f"WHERE t.{quote('key_hash')} = %s"
    )


@cache
def _row_readers(vendor: str) -> list[Reader]:
    return [reader(model) for model in (ApiToken, ApiClient, Authority, get_user_model())]


def find_token(key_hash: str) -> ApiToken | None:
    """The token with this hash, its client, and the client's authority or user, in hand.

    ``token.client.authority`` and ``token.client.user`` need no further query, nor (on
    PostgreSQL) the user's role check (``counterfeits.roles.group_names``).
    """
    with connection.cursor() as cursor:
        execute_prepared(cursor, _token_sql(connection.vendor), [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    readers = _row_readers(connection.vendor)
    (token_row, client_row, authority_row, user_row), (groups,) = split_row(readers, row)
    token_reader, client_reader, authority_reader, user_reader = readers
    token = instance(token_reader, token_row)
    client = instance(client_reader, client_row)
    client.authority = (
        instance(authority_reader, authority_row) if client.authority_id is not None else None
    )
    client.user = instance(user_reader, user_row) if client.user_id is not None else None
    if client.user is not None and groups is not None:
        client.user._touchstone_groups = set(groups)
    token.client = client
    return token


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
        token = find_token(hash_token(raw))
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
