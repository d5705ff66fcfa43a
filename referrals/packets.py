"""The referral packet (schema ``touchstone.referral/1``): what an authority needs, nothing more.

No analyst names, no internal notes, no other cases: the timeline carries roles only.

Packets are made in two steps so that a batch of cases (the deadline sweep) costs a fixed number
of queries: :func:`load_case_facts` reads what every authority's packet shares, for many cases
at once; :func:`packet_for` adds the authority's part.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from appeals.models import Appeal
from counterfeits.models import Case, CaseEvent, Evidence, Trademark
from listings.models import Listing, Sale
from sellers.rings import linked_sellers_for_packet

from .routing import Nexus

SCHEMA_ID = "touchstone.referral/1"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class CaseFacts:
    """The authority-independent part of a case's packet, and its routing nexus."""

    case_id: int
    body: dict[str, Any]
    nexus: Nexus
    # Not in the packet's body: it picks the legal basis the authority's part cites.
    safety_risk: bool = False
    timeline: list[dict[str, Any]] = field(default_factory=list)
    last_seq: int = 0
    last_hash: str = ""

    def add_event(self, event: CaseEvent) -> None:
        """Keep the packet's timeline and the chain's head current after a new event."""
        self.timeline.append(
            {"at": _iso(event.at), "event": event.transition, "actor_role": event.actor_role}
        )
        self.last_seq, self.last_hash = event.seq, event.hash


def load_case_facts(cases: list[Case]) -> dict[int, CaseFacts]:
    """Read everything the packets of these cases share, in a fixed number of queries.

    ``cases`` come with ``seller`` and ``brand`` loaded (``select_related``).
    """
    ids = [case.pk for case in cases]
    case_listings = list(
        Case.listings.through.objects.filter(case_id__in=ids)
        .select_related("listing__product__brand", "listing__marketplace")
        .order_by("case_id", "listing_id")
    )
    listing_ids = {cl.listing_id for cl in case_listings}
    units: dict[int, int] = defaultdict(int)
    customers: dict[int, set[str]] = defaultdict(set)
    for listing_id, country, sold in Sale.objects.filter(listing_id__in=listing_ids).values_list(
        "listing_id", "customer_country", "units"
    ):
        units[listing_id] += sold
        customers[listing_id].add(country.upper())
    listings_of: dict[int, list[Listing]] = defaultdict(list)
    for cl in case_listings:
        listings_of[cl.case_id].append(cl.listing)

    trademarks: dict[int, list[dict]] = defaultdict(list)
    for brand_id, office, number in (
        Trademark.objects.filter(brand_id__in={c.brand_id for c in cases})
        .order_by("office", "number")
        .values_list("brand_id", "office", "number")
    ):
        trademarks[brand_id].append({"office": office, "number": number})

    evidence: dict[int, list[dict]] = defaultdict(list)
    for case_id, report_case_id, kind, description, sha256, collected_at in (
        Evidence.objects.filter(Q(case_id__in=ids) | Q(report__case_id__in=ids))
        .order_by("collected_at", "id")
        .values_list("case_id", "report__case_id", "kind", "description", "sha256", "collected_at")
    ):
        evidence[case_id or report_case_id].append(
            {
                "kind": kind,
                "description": description,
                "sha256": sha256,
                "collected_at": _iso(collected_at),
            }
        )

    timelines: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in (
        CaseEvent.objects.filter(case_id__in=ids)
        .order_by("case_id", "seq")
        .only("case_id", "seq", "transition", "actor_role", "at", "hash")
    ):
        timelines[event.case_id].append(event)

    appeals = {a.case_id: a for a in Appeal.objects.filter(case_id__in=ids)}

    facts: dict[int, CaseFacts] = {}
    for case in cases:
        seller = case.seller
        products: dict[int, dict] = {}
        for listing in listings_of[case.pk]:
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
            entry["units_sold"] += units[listing.pk]
        appeal = appeals.get(case.pk)
        body = {
            "schema": SCHEMA_ID,
            "case_id": case.pk,
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
            "brand": {"name": case.brand.name, "trademarks": trademarks[case.brand_id]},
            "evidence": evidence[case.pk],
            "appeal": {
                "filed": appeal is not None,
                "outcome": appeal.outcome if appeal else None,
                "decided_at": _iso(appeal.decided_at) if appeal else None,
            },
            # Only sellers of the same ring whose own cases were confirmed (none without a ring).
            "linked_sellers": linked_sellers_for_packet(case) if seller.link_group else [],
        }
        nexus = {
            "seller": {seller.country.upper()},
            "marketplace": {lst.marketplace.country.upper() for lst in listings_of[case.pk]},
            "customer": set().union(*(customers[lst.pk] for lst in listings_of[case.pk])),
        }
        item = CaseFacts(case_id=case.pk, body=body, nexus=nexus, safety_risk=case.safety_risk)
        for event in timelines[case.pk]:
            item.add_event(event)
        facts[case.pk] = item
    return facts


def packet_for(
    facts: CaseFacts,
    *,
    referral_id: int,
    authority: Any,
    created_at: datetime,
    legal_basis: str | None = None,
) -> dict[str, Any]:
    """One authority's packet: the shared facts, the timeline so far, and its own part.

    ``legal_basis`` is the one the referral records; by default the authority's basis for a
    case of this kind (``Authority.legal_basis_for``: DSA Art. 18 only for a safety risk).
    """
    if legal_basis is None:
        legal_basis = authority.legal_basis_for(safety_risk=facts.safety_risk)
    return {
        **facts.body,
        "referral_id": referral_id,
        "created_at": _iso(created_at),
        "authority": {
            "code": authority.code,
            "name": authority.name,
            "jurisdiction": authority.jurisdiction,
        },
        "legal_basis": legal_basis,
        "timeline": list(facts.timeline),
    }


def build_packet(*, referral_id: int, case: Case, authority: Any, created_at: Any) -> dict:
    """Assemble the packet for one authority from the case as it is now (then frozen)."""
    facts = load_case_facts([case])[case.pk]
    return packet_for(facts, referral_id=referral_id, authority=authority, created_at=created_at)
