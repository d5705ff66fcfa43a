"""Seller services: what analysts learn about a seller beyond its own row."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef

from .models import Seller, SellerIdentifier


@dataclass
class LinkedSeller:
    """Another seller account sharing identifiers with the one under investigation."""

    seller: Seller
    shared: list[tuple[str, str]] = field(default_factory=list)


def linked_sellers(seller: Seller) -> list[LinkedSeller]:
    """Other sellers sharing any identifier (same kind and normalised value) with ``seller``.

    Closed sellers reopening under a new name share a phone, a payment account or an address
    with the old account; that is how an analyst sees it. Most shared identifiers first; one
    query whatever the number of identifiers.
    """
    mine = SellerIdentifier.objects.filter(
        seller_id=seller.pk, kind=OuterRef("kind"), value=OuterRef("value")
    )
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
