"""Keyset ("cursor") pagination for big tables: no COUNT(*), no OFFSET, same cost on every page.

A page is the rows after (or before) the last row seen, in ``(key, id)`` order; the cursor is
that row's key and id, encoded in the URL. A cursor that does not decode is the first page.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime


@dataclass(frozen=True)
class SortKey:
    """Order by ``field`` (a model field or an annotation that is never NULL), then by id."""

    field: str
    descending: bool
    is_datetime: bool = False


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, key: SortKey) -> tuple[Any, int] | None:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool):
        return None
    if key.is_datetime:
        if not isinstance(value, str):
            return None
        try:
            value = parse_datetime(value)
        except ValueError:
            return None
        if value is None:
            return None
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value, pk


def keyset_page(
    queryset: QuerySet, key: SortKey, *, after: str = "", before: str = "", size: int = 50
) -> KeysetPage:
    """One page of ``queryset`` in ``key`` order, after or before a cursor (one query)."""
    field = key.field
    backwards = False
    position = None
    if before:
        position = _decode(before, key)
        backwards = position is not None
    if position is None and after:
        position = _decode(after, key)
    # Walking backwards is walking forwards in the opposite order, then flipping the rows.
    descending = key.descending != backwards
    if position is not None:
        value, pk = position
        op = "lt" if descending else "gt"
        queryset = queryset.filter(
            Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk})
        )
    prefix = "-" if descending else ""
    rows = list(queryset.order_by(f"{prefix}{field}", f"{prefix}pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
    if not rows:
        return KeysetPage([], None, None)
    first = _encode(getattr(rows[0], field), rows[0].pk)
    last = _encode(getattr(rows[-1], field), rows[-1].pk)
    if backwards:
        return KeysetPage(rows, next_cursor=last, prev_cursor=first if more else None)
    return KeysetPage(
        rows, next_cursor=last if more else None, prev_cursor=first if position else None
    )
