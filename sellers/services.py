"""Seller services: what analysts learn about a seller beyond its own row."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from . import rings
from .models import Seller, SellerIdentifier


@dataclass
class LinkedSeller:
    """Another seller account sharing identifiers with the one under investigation."""

    seller: Seller
    shared: list[tuple[str, str]] = field(default_factory=list)


def linked_sellers(seller: Seller) -> list[LinkedSeller]:
    """Other sellers sharing any identifier (same kind and normalised value) with ``seller``.

    Closed sellers reopening under a new name share a phone, a payment account or an address
    with the old account; that is how an analyst sees it. A placeholder (an identifier held by
    more than ``rings.HUB_LIMIT`` accounts: a forwarding address, a call centre) links nobody, as
    in the rings. Most shared identifiers first; one query whatever the number of identifiers.
    """
    # More than HUB_LIMIT holders: a row past the first HUB_LIMIT exists (the scan stops there).
    placeholder = SellerIdentifier.objects.filter(
        kind=OuterRef("kind"), value=OuterRef("value")
    ).order_by()[rings.HUB_LIMIT :]
    mine = SellerIdentifier.objects.filter(
        seller_id=seller.pk, kind=OuterRef("kind"), value=OuterRef("value")
    ).exclude(Exists(placeholder))
    matches = (
        SellerIdentifier.objects.filter(Exists(mine))
        .exclude(seller_id=seller.pk)
        .select_related("seller")
        .order_by("seller_id", "kind", "value")
    )
    linked: dict[int, LinkedSeller] = {}
    for identifier in matches:
        entry = linked.setdefault(identifier.seller_id, LinkedSeller(seller=identifier.seller))
        entry.shared.append((identifier.kind, identifier.value))
    return sorted(linked.values(), key=lambda entry: (-len(entry.shared), entry.seller.pk))
