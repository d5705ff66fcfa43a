"""Who is asking: the client's address, as far as the proxies we trust vouch for it.

Behind ``TRUSTED_PROXIES`` reverse proxies every request comes from the nearest one, and each
proxy appends the address it was reached from to ``X-Forwarded-For``. Only those appended
entries are true: whatever stands to their left, the client wrote. So the client is the N-th
entry from the right. With 0 (clients talk to gunicorn directly) the header is the client's
own word and is ignored. Login lockout, password-reset budgets and the authority access log
all ask here; DRF's throttles use the same count (``REST_FRAMEWORK["NUM_PROXIES"]``).
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(raw: str) -> str | None:
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address, normalised; ``None`` when there is none to tell.

    Fewer ``X-Forwarded-For`` entries than trusted proxies (the client reached an inner proxy
    directly): the left-most, which the outermost proxy there was appended. An entry that is no
    IP address (junk from a misconfigured proxy) counts for nothing: the peer's address is used.
    """
    peer = _address(request.META.get("REMOTE_ADDR", ""))
    proxies = settings.TRUSTED_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded.strip():
        return peer
    entries = forwarded.split(",")
    return _address(entries[-min(proxies, len(entries))]) or peer
