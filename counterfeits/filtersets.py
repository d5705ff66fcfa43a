"""Filters for cases and reports, shared by the analyst API and the web UI."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest

from sellers.models import Seller

from .choices import CaseState, ReportReason, ReportStatus
from .models import Brand, Case, Report
from .roles import is_analyst


class CaseFilterSet(django_filters.FilterSet):
    """The analyst case queue: by state, brand, seller, assignee and the seller's country."""

    state = django_filters.MultipleChoiceFilter(
        choices=CaseState.choices, help_text="One or more case states (repeat the parameter)."
    )
    brand = django_filters.ModelChoiceFilter(queryset=Brand.objects.all(), help_text="Brand id.")
    seller = django_filters.ModelChoiceFilter(queryset=Seller.objects.all(), help_text="Seller id.")
    assignee = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(), help_text="User id of the assigned analyst."
    )
    country = django_filters.CharFilter(
        field_name="seller__country",
        lookup_expr="iexact",
        help_text="The seller's country, ISO 3166-1 alpha-2.",
    )

    class Meta:
        model = Case
        fields: list[str] = []


def brands_for(request: HttpRequest | None) -> QuerySet[Brand]:
    """The brands a caller may filter reports by: all for analysts, their own for brand owners.

    Another brand's id is then refused exactly like an id that does not exist. The report
    intake's hot path writes this rule out in SQL (``counterfeits.intake.intake_brand_and_seller``,
    tested against this function): a change here is a change there.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Brand.objects.none()
    if is_analyst(user):
        return Brand.objects.all()
    return Brand.objects.filter(memberships__user=user)


class ReportFilterSet(django_filters.FilterSet):
    """Brand reports: by brand, seller, status and reason."""

    brand = django_filters.ModelChoiceFilter(queryset=brands_for, help_text="Brand id.")
    seller = django_filters.ModelChoiceFilter(queryset=Seller.objects.all(), help_text="Seller id.")
    status = django_filters.MultipleChoiceFilter(
        choices=ReportStatus.choices, help_text="One or more report statuses."
    )
    reason = django_filters.ChoiceFilter(choices=ReportReason.choices)

    class Meta:
        model = Report
        fields: list[str] = []
