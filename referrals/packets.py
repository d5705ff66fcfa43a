"""The referral packet (schema ``touchstone.referral/1``): what an authority needs, nothing more.

No analyst names, no internal notes, no other cases: the timeline carries roles only.
"""

from collections import defaultdict
from typing import Any

from django.utils import timezone

from appeals.models import Appeal
from counterfeits.models import Case, CaseEvent, Evidence
from listings.models import Listing, Sale
from sellers.rings import linked_sellers_for_packet

SCHEMA_ID = "touchstone.referral/1"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.UTC).isoformat().replace("+00:00", "Z")


def build_packet(*, referral_id: int, case: Case, authority: Any, created_at: Any) -> dict:
    """Assemble the packet for one authority from the case as it is now (then frozen)."""
    seller = case.seller
    listings = list(
        Listing.objects.filter(cases=case)
        .select_related("product__brand", "marketplace")
        .order_by("id")
    )
    units_by_listing: dict[int, int] = defaultdict(int)
    for listing_id, units in Sale.objects.filter(listing__in=listings).values_list(
        "listing_id", "units"
    ):
        units_by_listing[listing_id] += units
    products: dict[int, dict] = {}
    for listing in listings:
        product = listing.product
        entry = products.setdefault(
            product.pk,
            {
                "title": product.title,
                "brand": product.brand.name,
                "gtin": product.gtin,
                "listing_ids": [],
                "marketplaces": [],
                "units_sold": 0,
            },
        )
        entry["listing_ids"].append(listing.external_id)
        if listing.marketplace.code not in entry["marketplaces"]:
            entry["marketplaces"].append(listing.marketplace.code)
        entry["units_sold"] += units_by_listing[listing.pk]
    evidence = Evidence.objects.filter(case=case) | Evidence.objects.filter(report__case=case)
    events = CaseEvent.objects.filter(case=case).order_by("seq")
    appeal = Appeal.objects.filter(case=case).first()
    return {
        "schema": SCHEMA_ID,
        "referral_id": referral_id,
        "case_id": case.pk,
        "created_at": _iso(created_at),
        "authority": {
            "code": authority.code,
            "name": authority.name,
            "jurisdiction": authority.jurisdiction,
        },
        "legal_basis": authority.legal_basis,
        "seller": {
            "name": seller.name,
            "company_name": seller.company_name,
            "company_registration": seller.company_registration,
            "tax_id": seller.tax_id,
            "email": seller.email,
            "phone": seller.phone,
            "address": {
                "line1": seller.address_line1,
                "line2": seller.address_line2,
                "city": seller.city,
                "region": seller.region,
                "postal_code": seller.postal_code,
                "country": seller.country,
            },
            "account_closed_at": _iso(case.account_closed_at or seller.closed_at),
        },
        "products": list(products.values()),
        "brand": {
            "name": case.brand.name,
            "trademarks": [
                {"office": tm.office, "number": tm.number} for tm in case.brand.trademarks.all()
            ],
        },
        "evidence": [
            {
                "kind": ev.kind,
                "description": ev.description,
                "sha256": ev.sha256,
                "collected_at": _iso(ev.collected_at),
            }
            for ev in evidence.distinct().order_by("collected_at", "id")
        ],
        "timeline": [
            {"at": _iso(ev.at), "event": ev.transition, "actor_role": ev.actor_role}
            for ev in events
        ],
        "appeal": {
            "filed": appeal is not None,
            "outcome": appeal.outcome if appeal else None,
            "decided_at": _iso(appeal.decided_at) if appeal else None,
        },
        "linked_sellers": linked_sellers_for_packet(case),
    }
