"""Pagination: page-number for the analyst API, capped so no caller can ask for everything."""

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
from rest_framework.request import Request

# PostgreSQL's bigint: no id lies beyond it.
MAX_ID = 2**63 - 1


class DefaultPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class IdCursorPagination(CursorPagination):
    """Oldest first on the primary key: stable, indexed and unique, so deep pages stay fast."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def decode_cursor(self, request: Request) -> Cursor | None:
        """The cursor, or a 400 naming it: DRF trusts the position inside a well-formed cursor
        (a query string, base64-encoded, that any client can write) and filtered on it as it
        was, so a position that is no id was a 500."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:
            raise self._invalid() from exc
        if cursor is None or cursor.position is None:
            return cursor
        position = cursor.position
        digits = position.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or abs(int(position)) > MAX_ID:
            raise self._invalid()
        return cursor

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})
