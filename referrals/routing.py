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
    """The routing rules of active authorities (read once per batch of cases), each with its
    countries in upper case as ``upper_countries`` (a batch routes a thousand cases with them)."""
    rules = list(RoutingRule.objects.select_related("authority").filter(authority__active=True))
    for rule in rules:
        rule.upper_countries = frozenset(c.upper() for c in rule.countries)
    return rules


def route_nexus(nexus: Nexus, rules: list[RoutingRule]) -> list[Authority]:
    """The authorities whose rules (from :func:`active_rules`) select a case with this nexus,
    in code order."""
    chosen: dict[int, Authority] = {}
    for rule in rules:
        countries = rule.upper_countries
        hit = (
            (rule.on_seller_country and nexus["seller"] & countries)
            or (rule.on_marketplace_country and nexus["marketplace"] & countries)
            or (rule.on_customer_country and nexus["customer"] & countries)
        )
        if hit:
            chosen[rule.authority_id] = rule.authority
    return sorted(chosen.values(), key=lambda a: a.code)


def route(case: Case) -> list[Authority]:
    """The active authorities whose routing rules select this case, in code order."""
    return route_nexus(nexus_countries(case), active_rules())
