"""Filters for the appeal review queue, shared by the analyst API and the web UI."""

import django_filters

from .choices import AppealOutcome
from .models import Appeal


class AppealFilterSet(django_filters.FilterSet):
    """Appeals by outcome (``pending`` is the review queue) and lateness."""

    outcome = django_filters.ChoiceFilter(choices=AppealOutcome.choices)
    # ``true`` or ``false`` and nothing else: a BooleanFilter reads any other value as "no
    # filter" and answers the whole queue, where a 400 naming the filter is due.
    late = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        help_text="Filed after the appeal window (a DSA Art. 20 complaint): true or false.",
    )

    class Meta:
        model = Appeal
        fields: list[str] = []
