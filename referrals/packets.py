"""The referral packet (schema ``touchstone.referral/1``): what an authority needs, nothing more.

No analyst names, no internal notes, no other cases: the timeline carries roles only.

Packets are made in two steps so that a batch of cases (the deadline sweep) costs a fixed number
of queries: :func:`load_case_facts` reads what every authority's packet shares, for many cases
at once; :func:`packet_for` adds the authority's part (:func:`packet_text` gives its canonical
JSON, encoding what a case's packets share once).
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from django.db.models import Q
from django.utils import timezone

from appeals.models import Appeal
from config.bulk import in_ids
from counterfeits.models import Case, CaseEvent, Evidence, Trademark
from listings.models import Sale
from sellers.rings import linked_sellers_by_seller

from .routing import Nexus
from .signing import canonical_text as _dumps

SCHEMA_ID = "touchstone.referral/1"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.UTC).isoformat().replace("+00:00", "Z")


class CaseRow(NamedTuple):
    """What a packet needs of a case, its seller and its brand: one row of one query
    (:data:`CASE_ROW_FIELDS`), so a batch of cases makes no model instances."""

    id: int
    state: str
    safety_risk: bool
    account_closed_at: datetime | None
    brand_id: int
    brand_name: str
    seller_id: int
    seller_name: str
    company_name: str
    company_registration: str
    tax_id: str
    email: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    seller_closed_at: datetime | None
    link_group: int | None


# The lookups that read a CaseRow, in its order, from the Case model.
CASE_ROW_FIELDS = (
    "id", "state", "safety_risk", "account_closed_at", "brand_id", "brand__name", "seller_id",
    "seller__name", "seller__company_name", "seller__company_registration", "seller__tax_id",
    "seller__email", "seller__phone", "seller__address_line1", "seller__address_line2",
    "seller__city", "seller__region", "seller__postal_code", "seller__country",
    "seller__closed_at", "seller__link_group",
)  # fmt: skip


def case_row(case: Case) -> CaseRow:
    """The row of a case loaded as a model (with ``seller`` and ``brand``)."""
    seller = case.seller
    return CaseRow(
        case.pk, case.state, case.safety_risk, case.account_closed_at, case.brand_id,
        case.brand.name, seller.pk, seller.name, seller.company_name,
        seller.company_registration, seller.tax_id, seller.email, seller.phone,
        seller.address_line1, seller.address_line2, seller.city, seller.region,
        seller.postal_code, seller.country, seller.closed_at, seller.link_group,
    )  # fmt: skip


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
    # The body's values and the timeline as canonical JSON, made once for all the case's
    # packets (see packet_text); the timeline's is remade when an event is added.
    _encoded_body: dict[str, str] | None = field(default=None, repr=False)
    _encoded_timeline: str | None = field(default=None, repr=False)

    def add_event(self, event: CaseEvent) -> None:
        """Keep the packet's timeline and the chain's head current after a new event."""
        self.add(event.seq, event.hash, event.at, event.transition, event.actor_role)

    def add(self, seq: int, digest: str, at: datetime, transition: str, actor_role: str) -> None:
        """:meth:`add_event` for an event given by its values."""
        self.timeline.append({"at": _iso(at), "event": transition, "actor_role": actor_role})
        self.last_seq, self.last_hash = seq, digest
        self._encoded_timeline = None

    def encoded(self) -> tuple[dict[str, str], str]:
        """The body's values and the timeline, each as canonical JSON."""
        if self._encoded_body is None:
            self._encoded_body = {key: _dumps(value) for key, value in self.body.items()}
        if self._encoded_timeline is None:
            self._encoded_timeline = _dumps(self.timeline)
        return self._encoded_body, self._encoded_timeline


def load_case_facts(cases: list[Case]) -> dict[int, CaseFacts]:
    """Read everything the packets of these cases share, in a fixed number of queries.

    ``cases`` come with ``seller`` and ``brand`` loaded (``select_related``).
    """
    return load_facts([case_row(case) for case in cases])


def load_facts(rows: list[CaseRow]) -> dict[int, CaseFacts]:
    """:func:`load_case_facts` for cases read as :class:`CaseRow` (the sweep's batches).

    A fixed number of queries, each read as tuples.
    """
    ids = in_ids(row.id for row in rows)
    # (case, listing, listing external id, marketplace code and country, product, title, gtin,
    # product brand), in the order the packet lists them.
    case_listings = list(
        Case.listings.through.objects.filter(case_id__in=ids)
        .order_by("case_id", "listing_id")
        .values_list(
            "case_id", "listing_id", "listing__external_id", "listing__marketplace__code",
            "listing__marketplace__country", "listing__product_id", "listing__product__title",
            "listing__product__gtin", "listing__product__brand__name",
        )
    )  # fmt: skip
    units: dict[int, int] = defaultdict(int)
    customers: dict[int, set[str]] = defaultdict(set)
    for listing_id, country, sold in Sale.objects.filter(
        listing_id__in=in_ids({item[1] for item in case_listings})
    ).values_list("listing_id", "customer_country", "units"):
        units[listing_id] += sold
        customers[listing_id].add(country.upper())
    listings_of: dict[int, list[tuple]] = defaultdict(list)
    for item in case_listings:
        listings_of[item[0]].append(item)

    trademarks: dict[int, list[dict]] = defaultdict(list)
    for brand_id, office, number in (
        Trademark.objects.filter(brand_id__in={row.brand_id for row in rows})
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

    timelines: dict[int, list[tuple]] = defaultdict(list)
    for case_id, *event in (
        CaseEvent.objects.filter(case_id__in=ids)
        .order_by("case_id", "seq")
        .values_list("case_id", "seq", "hash", "at", "transition", "actor_role")
    ):
        timelines[case_id].append(event)

    appeals = {
        case_id: (outcome, decided_at)
        for case_id, outcome, decided_at in Appeal.objects.filter(case_id__in=ids).values_list(
            "case_id", "outcome", "decided_at"
        )
    }

    linked = linked_sellers_by_seller(
        {(row.seller_id, row.link_group) for row in rows if row.link_group}
    )
    facts: dict[int, CaseFacts] = {}
    for row in rows:
        products: dict[int, dict] = {}
        listings = listings_of[row.id]
        for _, listing_id, external_id, code, _, product_id, title, gtin, brand in listings:
            entry = products.get(product_id)
            if entry is None:
                entry = products[product_id] = {
                    "title": title,
                    "brand": brand,
                    "gtin": gtin,
                    "listing_ids": [],
                    "marketplaces": [],
                    "units_sold": 0,
                }
            entry["listing_ids"].append(external_id)
            if code not in entry["marketplaces"]:
                entry["marketplaces"].append(code)
            entry["units_sold"] += units[listing_id]
        appeal = appeals.get(row.id)
        body = {
            "schema": SCHEMA_ID,
            "case_id": row.id,
            "seller": {
                "name": row.seller_name,
                "company_name": row.company_name,
                "company_registration": row.company_registration,
                "tax_id": row.tax_id,
                "email": row.email,
                "phone": row.phone,
                "address": {
                    "line1": row.address_line1,
                    "line2": row.address_line2,
                    "city": row.city,
                    "region": row.region,
                    "postal_code": row.postal_code,
                    "country": row.country,
                },
                "account_closed_at": _iso(row.account_closed_at or row.seller_closed_at),
            },
            "products": list(products.values()),
            "brand": {"name": row.brand_name, "trademarks": trademarks[row.brand_id]},
            "evidence": evidence[row.id],
            "appeal": {
                "filed": appeal is not None,
                "outcome": appeal[0] if appeal else None,
                "decided_at": _iso(appeal[1]) if appeal else None,
            },
            # Only sellers of the same ring whose own cases were confirmed (none without a ring).
            "linked_sellers": linked.get(row.seller_id, []),
        }
        nexus = {
            "seller": {row.country.upper()},
            "marketplace": {item[4].upper() for item in listings},
            "customer": set().union(*(customers[item[1]] for item in listings)),
        }
        item = CaseFacts(case_id=row.id, body=body, nexus=nexus, safety_risk=row.safety_risk)
        for event in timelines[row.id]:
            item.add(*event)
        facts[row.id] = item
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


_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]


def packet_text(
    facts: CaseFacts,
    *,
    referral_id: int,
    authority: Any,
    created_at: datetime,
    legal_basis: str | None = None,
) -> str:
    """The canonical JSON of :func:`packet_for`'s packet, as text.

    The same characters as ``canonical_json(packet_for(...))``: the top-level keys in sorted
    order, each value encoded as ``json.dumps`` would encode it inside the packet. What all of
    a case's packets share (its facts and timeline) is encoded once, not once per authority.
    """
    if legal_basis is None:
        legal_basis = authority.legal_basis_for(safety_risk=facts.safety_risk)
    body, timeline = facts.encoded()
    parts = {
        **body,
        "referral_id": str(int(referral_id)),
        "created_at": _encoded_time(created_at),
        "authority": _encoded_authority(authority.code, authority.name, authority.jurisdiction),
        "legal_basis": _encoded_text(legal_basis),
        "timeline": timeline,
    }
    return "{" + ",".join([f"{_quote(key)}:{parts[key]}" for key in sorted(parts)]) + "}"


# What a batch's packets repeat (its time, its few authorities and legal bases), encoded once.
@lru_cache(maxsize=16)
def _encoded_time(at: datetime) -> str:
    return _dumps(_iso(at))


@lru_cache(maxsize=64)
def _encoded_authority(code: str, name: str, jurisdiction: str) -> str:
    return _dumps({"code": code, "name": name, "jurisdiction": jurisdiction})


@lru_cache(maxsize=64)
def _encoded_text(text: str) -> str:
    return _dumps(text)


def build_packet(*, referral_id: int, case: Case, authority: Any, created_at: Any) -> dict:
    """Assemble the packet for one authority from the case as it is now (then frozen)."""
    facts = load_case_facts([case])[case.pk]
    return packet_for(facts, referral_id=referral_id, authority=authority, created_at=created_at)
