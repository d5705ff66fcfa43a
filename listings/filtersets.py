"""Filters for listings, shared by the analyst API and the web UI."""

import django_filters

from counterfeits.models import Brand
from sellers.models import Seller

from .choices import ListingStatus
from .models import Listing, Marketplace


class ListingFilterSet(django_filters.FilterSet):
    """Listings by seller, brand (of the product), status and marketplace."""

    seller = django_filters.ModelChoiceFilter(queryset=Seller.objects.all(), help_text="Seller id.")
    brand = django_filters.ModelChoiceFilter(
        field_name="product__brand", queryset=Brand.objects.all(), help_text="Brand id."
    )
    status = django_filters.ChoiceFilter(choices=ListingStatus.choices)
    marketplace = django_filters.ModelChoiceFilter(
        queryset=Marketplace.objects.all(),
        to_field_name="code",
        help_text="Marketplace code, e.g. 'us'.",
    )

    class Meta:
        model = Listing
        fields: list[str] = []
