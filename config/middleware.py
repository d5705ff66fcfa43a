"""Answer 503 (retry later), not 500, while the database cannot be reached.

A PostgreSQL restart or fail-over cuts every connection; requests caught in it fail with
``OperationalError``/``InterfaceError``. Nothing was committed by them (the transaction died with
the connection), so the honest answer is "unavailable, try again": clients retry, with the same
``Idempotency-Key`` where they send one, and nothing is done twice. Django closes the broken
connection when the request finishes (``close_old_connections``).
"""

from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

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
