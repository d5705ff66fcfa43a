"""Filters for the appeal review queue, shared by the analyst API and the web UI."""

import django_filters

from .choices import AppealOutcome
from .models import Appeal


class AppealFilterSet(django_filters.FilterSet):
    """Appeals by outcome (``pending`` is the review queue) and lateness."""

    outcome = django_filters.ChoiceFilter(choices=AppealOutcome.choices)
    late = django_filters.BooleanFilter(
        help_text="Filed after the appeal window (a DSA Art. 20 complaint)."
    )

    class Meta:
        model = Appeal
        fields: list[str] = []
