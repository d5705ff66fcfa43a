"""config.bulk.bulk_update_rows writes what QuerySet.bulk_update would, in one statement."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.bulk import bulk_update_rows
from counterfeits.models import Case
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_nulls_included_in_one_statement():
    # Given three cases, each to get its own priority and times (one time cleared)
    cases = [CaseFactory() for _ in range(3)]
    at = timezone.now() - timedelta(days=1)
    wanted = {}
    for n, case in enumerate(cases):
        case.priority = n + 1
        case.closed_at = at + timedelta(minutes=n) if n < 2 else None
        case.updated_at = at
        wanted[case.pk] = (n + 1, case.closed_at, at)
    untouched = CaseFactory()

    # When they are written together
    with CaptureQueriesContext(connection) as queries:
        bulk_update_rows(cases, ["priority", "closed_at", "updated_at"])

    # Then each row holds its own values, in one statement, and no other row changed
    assert len(queries) == 1
    stored = {
        pk: (priority, closed, updated)
        for pk, priority, closed, updated in Case.objects.filter(pk__in=wanted).values_list(
            "pk", "priority", "closed_at", "updated_at"
        )
    }
    assert stored == wanted
    assert Case.objects.get(pk=untouched.pk).priority == untouched.priority
