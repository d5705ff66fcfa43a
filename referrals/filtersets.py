"""Filters on referrals, shared by the authority API and the analyst views."""

from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from .choices import ReferralStatus
from .models import Referral

# Real-world UTC offsets run from -12:00 to +14:00; PostgreSQL refuses anything much larger.
MAX_UTC_OFFSET = timedelta(hours=14)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 time with a real-world offset, turned into UTC before it reaches the query."""

    def to_python(self, value: object) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("The UTC offset must be between -14:00 and +14:00.")
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError("This time is out of range.") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ReferralFilterSet(django_filters.FilterSet):
    """``since`` (ISO time, on created_at), ``status``, ``seller_country``, ``brand``."""

    since = UtcIsoDateTimeFilter(
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
