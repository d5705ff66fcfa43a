"""Which authorities a case goes to: by the seller's country, marketplaces and customers."""

from django.db.models import QuerySet

from counterfeits.models import Case
from listings.models import Listing, Sale

from .models import Authority, RoutingRule


def nexus_countries(case: Case) -> dict[str, set[str]]:
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


def route(case: Case) -> list[Authority]:
    """The active authorities whose routing rules select this case, in code order."""
    nexus = nexus_countries(case)
    chosen: dict[int, Authority] = {}
    rules: QuerySet[RoutingRule] = RoutingRule.objects.select_related("authority").filter(
        authority__active=True
    )
    for rule in rules:
        countries = {c.upper() for c in rule.countries}
        hit = (
            (rule.on_seller_country and nexus["seller"] & countries)
            or (rule.on_marketplace_country and nexus["marketplace"] & countries)
            or (rule.on_customer_country and nexus["customer"] & countries)
        )
        if hit:
            chosen[rule.authority_id] = rule.authority
    return sorted(chosen.values(), key=lambda a: a.code)
