"""Throttling per API client: every token of one client shares the client's budget."""

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from .models import ApiToken


class ApiClientRateThrottle(SimpleRateThrottle):
    """Scope ``authority``: rate from ``AUTHORITY_THROTTLE_RATE`` (e.g. ``600/min``).

    Keyed on the ApiClient, not the token, so issuing more tokens does not buy more requests.
    Session users (analysts in the browser) are not throttled here.
    """

    scope = "authority"

    def get_rate(self) -> str | None:
        return getattr(settings, "AUTHORITY_THROTTLE_RATE", "600/min") or None

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"client-{token.client_id}"}
