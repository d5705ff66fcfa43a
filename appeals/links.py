"""The seller's signed, expiring link to the statement of reasons and the appeal page.

No password: the link itself is the credential. It is signed with ``SECRET_KEY`` under a salt
of its own (a token made for anything else never opens it), names the case and its seller, and
expires when complaints are no longer possible (``COMPLAINT_WINDOW`` after it was made).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "touchstone.appeals.seller-link"


class LinkRefused(Exception):
    """The link was altered, or made for another purpose (``expired`` False), or is too old."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        self.expired = expired
        super().__init__(message)


@dataclass(frozen=True)
class SellerLink:
    case_id: int
    seller_id: int


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_token(case) -> str:
    """A signed token naming the case and its seller, stamped with the time it was made."""
    return _signer().sign_object({"c": case.pk, "s": case.seller_id}, compress=True)


def appeal_url(case, *, absolute: bool = True) -> str:
    """The seller's link to the case's statement of reasons and appeal form."""
    path = reverse("appeals:seller_case", kwargs={"token": make_token(case)})
    return f"{settings.SITE_URL.rstrip('/')}{path}" if absolute else path


def read_token(token: str) -> SellerLink:
    """The case a token opens; ``LinkRefused`` if it is altered or has expired."""
    try:
        data = _signer().unsign_object(token, max_age=settings.COMPLAINT_WINDOW)
    except signing.SignatureExpired as exc:
        raise LinkRefused("This link has expired.", expired=True) from exc
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkRefused("This link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise LinkRefused("This link is not valid.")
    return SellerLink(case_id=data["c"], seller_id=data.get("s"))
