"""The analyst queue's filters: the API's CaseFilterSet plus what a person at a screen needs."""

from datetime import timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from counterfeits.choices import CaseState
from counterfeits.filtersets import CaseFilterSet
from counterfeits.roles import ANALYST, REVIEWER
from listings.models import Listing

from .forms import parse_id

DUE_SOON = timedelta(hours=48)


def case_workers(request: object = None) -> QuerySet:
    """The people a case can be assigned to: analysts, reviewers and admins."""
    return (
        get_user_model()
        .objects.filter(
            Q(groups__name__in=[ANALYST, REVIEWER]) | Q(is_superuser=True), is_active=True
        )
        .distinct()
        .order_by("username")
    )


class CaseQueueFilterSet(CaseFilterSet):
    """Adds free-text search, "mine" and "deadline within 48 h" to the shared case filters.

    The seller is given by id (links from a seller page), not as a drop-down of every seller.
    """

    q = django_filters.CharFilter(method="search", label="Search")
    assignee = django_filters.ModelChoiceFilter(
        queryset=case_workers, label="Assignee", empty_label="Anyone"
    )
    mine = django_filters.BooleanFilter(
        method="only_mine", label="Mine", widget=forms.CheckboxInput
    )
    due_soon = django_filters.BooleanFilter(
        method="deadline_soon", label="Deadline within 48 h", widget=forms.CheckboxInput
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.filters["seller"].extra["widget"] = forms.HiddenInput
        self.filters["brand"].extra["empty_label"] = "All brands"
        self.filters["state"].extra["required"] = False

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Seller name, company, e-mail, a listing title of the case, or ``#<case id>``."""
        value = value.strip()
        if not value:
            return queryset
        match = (
            Q(seller__name__icontains=value)
            | Q(seller__company_name__icontains=value)
            | Q(seller__email__icontains=value)
            | Exists(Listing.objects.filter(cases=OuterRef("pk"), title__icontains=value))
        )
        case_id = parse_id(value.removeprefix("#"))
        if case_id is not None:
            match |= Q(pk=case_id)
        return queryset.filter(match)

    def only_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(assignee_id=user.pk)

    def deadline_soon(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        """Appeal windows closing in the next 48 hours, and any already overdue for the sweep."""
        if not value:
            return queryset
        return queryset.filter(
            state=CaseState.ACCOUNT_CLOSED, appeal_deadline__lte=timezone.now() + DUE_SOON
        )
