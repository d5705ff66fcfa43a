"""Error pages: JSON under ``/api/`` (clients parse it), Django's HTML pages everywhere else.

DRF answers its own errors in JSON, but a path that no API route matches (``/api/v1/cases/0.5/``)
or a crash outside a view never reaches DRF: these handlers keep the API's promise there too.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Server error.", "code": "error"}, status=500)
    return defaults.server_error(request)
