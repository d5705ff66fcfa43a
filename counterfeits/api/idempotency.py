"""``Idempotency-Key`` for POST endpoints (brand-protection vendors filing in bulk retry freely).

- The same key with the same request replays the first answer: same status, same body, and an
  ``Idempotent-Replayed: true`` header; nothing is done twice.
- The same key with a different request is a 422, and nothing is done.
- Concurrent requests with one key make one thing: the key's row is inserted inside the
  transaction that does the work, so the others wait on the unique index until it commits, then
  find the row and replay it.

As at Stripe, only answers the endpoint produced are kept: a request refused before or by
validation (an exception, e.g. a 400 or 409) stores nothing, so it can be retried with the key.
Keys are scoped per user.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Model
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from counterfeits.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def _value(value: Any) -> Any:
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_sha256": digest.hexdigest()}
    return value


def request_fingerprint(request: Request) -> str:
    """SHA-256 of what the request asks for: method, path and the parsed body."""
    data = request.data
    if hasattr(data, "lists"):  # QueryDict (form or multipart): every value of every field
        body: Any = {key: [_value(v) for v in values] for key, values in data.lists()}
    else:
        body = data
    canonical = json.dumps(
        {"method": request.method, "path": request.path, "body": body},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _jsonable(data: Any) -> Any:
    # DRF's renderer knows dates, decimals and lazy strings; the row keeps plain JSON.
    return None if data is None else json.loads(JSONRenderer().render(data))


def _refusal(detail: str, code: str, http_status: int) -> Response:
    return Response({"detail": detail, "code": code}, status=http_status)


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF view's handler (e.g. ``create``) to honour ``Idempotency-Key``."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        user = request.user
        if key is None or not isinstance(user, Model):
            return handler(view, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _refusal(
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable characters.",
                "invalid_idempotency_key",
                status.HTTP_400_BAD_REQUEST,
            )
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():  # a savepoint: losing the race leaves the outer intact
                    record = IdempotencyRecord.objects.create(
                        user=user, key=key, request_hash=fingerprint
                    )
            except IntegrityError:
                record = None
            if record is not None:
                response = handler(view, request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
                    return response
                record.response_status = response.status_code
                record.response_body = _jsonable(response.data)
                record.save(update_fields=["response_status", "response_body"])
                return response
        # Another request holds or held this key; its transaction has committed by now (the
        # insert above waited for it), so its answer is there to read.
        first = IdempotencyRecord.objects.get(user=user, key=key)
        if first.request_hash != fingerprint:
            return _refusal(
                f"This {HEADER} was already used with a different request; use a new key.",
                "idempotency_key_reused",
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        replay = Response(first.response_body, status=first.response_status)
        replay["Idempotent-Replayed"] = "true"
        return replay

    return wrapper
