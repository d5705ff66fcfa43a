"""Which authorities a case goes to: by the seller's country, marketplaces and customers."""

from counterfeits.models import Case
from listings.models import Listing, Sale

from .models import Authority, RoutingRule

Nexus = dict[str, set[str]]


def nexus_countries(case: Case) -> Nexus:
    """The countries that tie the case to a jurisdiction, by kind of nexus."""
    listings = Listing.objects.filter(cases=case)
    return {
        "seller": {case.seller.country.upper()},
        "marketplace": {
            c.upper() for c in listings.values_list("marketplace__country", flat=True).distinct()
        },
        "customer": {
            c.upper()
            for c in Sale.objects.filter(listing__in=listings)
            .values_list("customer_country", flat=True)
            .distinct()
        },
    }


def active_rules() -> list[RoutingRule]:
    """The routing rules of active authorities (read once per batch of cases)."""
    return list(RoutingRule.objects.select_related("authority").filter(authority__active=True))


def route_nexus(nexus: Nexus, rules: list[RoutingRule]) -> list[Authority]:
    """The authorities whose rules select a case with this nexus, in code order."""
    chosen: dict[int, Authority] = {}
    for rule in rules:
        countries = _countries(rule)
        hit = (
            (rule.on_seller_country and nexus["seller"] & countries)
            or (rule.on_marketplace_country and nexus["marketplace"] & countries)
            or (rule.on_customer_country and nexus["customer"] & countries)
        )
        if hit:
            chosen[rule.authority_id] = rule.authority
    return sorted(chosen.values(), key=lambda a: a.code)


def _countries(rule: RoutingRule) -> frozenset[str]:
    """The rule's countries in upper case, worked out once per rule read (a sweep batch routes
    a thousand cases with the same rules); again if ``countries`` is replaced."""
    cached = rule.__dict__.get("_upper_countries")
    if cached is None or cached[0] is not rule.countries:
        cached = (rule.countries, frozenset(c.upper() for c in rule.countries))
        rule.__dict__["_upper_countries"] = cached
    return cached[1]


def route(case: Case) -> list[Authority]:
    """The active authorities whose routing rules select this case, in code order."""
    return route_nexus(nexus_countries(case), active_rules())
