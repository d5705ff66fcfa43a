"""config.bulk: insert_rows writes what bulk_create would (by COPY on PostgreSQL), allocate_ids
hands out unused primary keys, in_ids filters like a list."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.bulk import allocate_ids, in_ids, insert_rows
from counterfeits.audit import EVENT_ROW_FIELDS
from counterfeits.models import Case, CaseEvent
from tests.factories import CaseFactory, UserFactory

pytestmark = pytest.mark.django_db

FIELDS = EVENT_ROW_FIELDS


def test_rows_are_stored_as_given_escapes_nulls_and_times_included():
    # Given rows whose text holds what COPY's text format escapes, a NULL, and two times
    case = CaseFactory()
    actor = UserFactory()
    at = timezone.now() - timedelta(days=3)
    reasons = ["tab\there", "line\nbreak\r\nand \\N, not a null", "\\", "plain, 北京 ✓", ""]
    rows = [
        (case.pk, n + 1, "refer", "referral_pending", "referred",
         actor.pk if n % 2 else None, "sys\\tem", "system", reason, at + timedelta(seconds=n),
         "0" * 64, f"{n:064x}")
        for n, reason in enumerate(reasons)
    ]  # fmt: skip

    # When they are inserted
    insert_rows(CaseEvent, FIELDS, rows)

    # Then each row reads back exactly as given
    stored = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list(*FIELDS))
    assert stored == rows


def test_a_row_of_the_wrong_width_is_refused_and_nothing_is_written():
    case = CaseFactory()

    with pytest.raises(ValueError, match="zip"):
        insert_rows(CaseEvent, FIELDS, [(case.pk, 1, "refer")])

    assert not CaseEvent.objects.filter(case=case).exists()


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="ids come from a sequence on PostgreSQL only"
)
def test_allocated_ids_are_unused_and_rows_keep_them():
    # Given ids taken for two cases before they are written
    ids = allocate_ids(Case, 2)
    assert ids is not None
    assert len(set(ids)) == 2
    assert not Case.objects.filter(pk__in=ids).exists()
    template = CaseFactory()

    # When rows naming those ids are inserted, and a case is then made the ordinary way
    fields = ("id", "seller_id", "brand_id", "state", "safety_risk", "priority", "created_at",
              "updated_at")  # fmt: skip
    now = timezone.now()
    insert_rows(
        Case,
        fields,
        [(pk, template.seller_id, template.brand_id, "open", False, 0, now, now) for pk in ids],
    )
    later = CaseFactory()

    # Then the rows have the ids, and the sequence does not hand them out again
    assert sorted(Case.objects.filter(pk__in=ids).values_list("pk", flat=True)) == sorted(ids)
    assert later.pk not in ids


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the fallback of other databases")
def test_without_a_sequence_no_ids_are_allocated():
    assert allocate_ids(Case, 2) is None


def test_in_ids_selects_the_rows_a_list_would():
    cases = [CaseFactory() for _ in range(4)]
    wanted = [cases[0].pk, cases[2].pk, cases[3].pk]

    found = Case.objects.filter(pk__in=in_ids(wanted)).values_list("pk", flat=True)

    assert sorted(found) == sorted(wanted)
    assert not Case.objects.filter(pk__in=in_ids([])).exists()
