"""Answer 503 (retry later), not 500, while the database cannot be reached.

A PostgreSQL restart or fail-over cuts every connection; requests caught in it fail with
``OperationalError``/``InterfaceError``. Nothing was committed by them (the transaction died with
the connection), so the honest answer is "unavailable, try again": clients retry, with the same
``Idempotency-Key`` where they send one, and nothing is done twice. Django closes the broken
connection when the request finishes (``close_old_connections``).
"""

from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from counterfeits.uploads import MAX_FILES

RETRY_AFTER_SECONDS = 5


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        response = JsonResponse(
            {"detail": "The database is unavailable; retry shortly.", "code": "unavailable"},
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


class RejectNullCharactersMiddleware:
    """400 for a NUL character in the query string.

    No text column can hold NUL (PostgreSQL refuses it before any query runs), so a filter value
    carrying one is not a value anyone can mean; refusing it here keeps each view from turning it
    into a 500. Form and serializer fields already refuse NUL in bodies.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Answered like a filter's field errors: each offending parameter, with what is wrong.
        errors = {
            key.replace("\x00", "") or "query": ["This value contains a NUL character."]
            for key, values in request.GET.lists()
            if "\x00" in key or any("\x00" in value for value in values)
        }
        if "\x00" in request.path:
            errors["path"] = ["The path contains a NUL character."]
        if errors:
            return JsonResponse(errors, status=400)
        return self.get_response(request)


class RefuseOversizedUploadsMiddleware:
    """413 for a multipart body longer than every allowed file and field together could be,
    before any of it is read.

    Django streams a multipart body's files whole to temporary files before a form or
    serializer can check them, and ``DATA_UPLOAD_MAX_MEMORY_SIZE`` does not count file data:
    without this, a 10 MB cap would still let anyone with an upload form (a seller's appeal
    link, a brand owner) make the server read and store gigabytes per request. The declared
    length is all it looks at (a body shorter than it declares is cut there by the server).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > max_multipart_bytes():
                return _too_large(request)
        return self.get_response(request)


def max_multipart_bytes() -> int:
    """The most a multipart body may hold: every file at its cap, plus the form's fields."""
    return MAX_FILES * settings.MAX_UPLOAD_BYTES + settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def _too_large(request: HttpRequest) -> HttpResponse:
    megabytes = settings.MAX_UPLOAD_BYTES // (1024 * 1024) or 1
    message = f"The request is too large: files may be at most {megabytes} MB each."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message, "code": "too_large"}, status=413)
    return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
