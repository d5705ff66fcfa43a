"""Filters for sellers, shared by the analyst API and the web UI."""

import django_filters
from django.db.models import Q, QuerySet

from .choices import SellerStatus
from .models import Seller


class SellerFilterSet(django_filters.FilterSet):
    """Sellers by account status, country, and a free-text search on name, company, e-mail."""

    status = django_filters.MultipleChoiceFilter(
        choices=SellerStatus.choices, help_text="One or more account statuses."
    )
    country = django_filters.CharFilter(
        lookup_expr="iexact", help_text="ISO 3166-1 alpha-2 country code."
    )
    q = django_filters.CharFilter(
        method="search", help_text="Part of the person's name, the company name or the e-mail."
    )

    class Meta:
        model = Seller
        fields: list[str] = []

    def search(self, queryset: QuerySet[Seller], name: str, value: str) -> QuerySet[Seller]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(company_name__icontains=value) | Q(email__icontains=value)
        )
