"""Filters on referrals, shared by the authority API and the analyst views."""

import django_filters

from .choices import ReferralStatus
from .models import Referral


class ReferralFilterSet(django_filters.FilterSet):
    """``since`` (ISO time, on created_at), ``status``, ``seller_country``, ``brand``."""

    since = django_filters.IsoDateTimeFilter(
        field_name="created_at",
        lookup_expr="gte",
        label="Only referrals created at or after this ISO-8601 time, e.g. 2025-01-31T00:00:00Z.",
    )
    status = django_filters.ChoiceFilter(
        choices=ReferralStatus.choices, label="Only referrals in this status."
    )
    seller_country = django_filters.CharFilter(
        field_name="seller_country",
        lookup_expr="iexact",
        max_length=2,
        label="Only referrals whose seller is registered in this ISO 3166-1 alpha-2 country.",
    )
    brand = django_filters.CharFilter(
        field_name="brand_name",
        lookup_expr="iexact",
        max_length=200,
        label="Only referrals about this brand (exact name, case-insensitive).",
    )

    class Meta:
        model = Referral
        fields = ["since", "status", "seller_country", "brand"]
