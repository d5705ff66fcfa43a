"""sweep_deadlines: refers the cases whose appeal window ran out, leaves the others alone."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from counterfeits.audit import verify_case_chain
from counterfeits.choices import CaseState
from counterfeits.models import Case, CaseEvent
from referrals.models import Referral
from tests.ops.conftest import case_through_services, make_due


def sweep(*args: str) -> str:
    out = StringIO()
    call_command("sweep_deadlines", *args, stdout=out)
    return out.getvalue()


def test_a_case_whose_window_ran_out_is_referred(analyst, authorities):
    # given a closed account whose appeal window has run out (US seller, US marketplace)
    case = make_due(case_through_services(analyst=analyst))

    output = sweep("--batch-size", "10")

    case = Case.objects.get(pk=case.pk)
    assert "Referred 1 case." in output
    assert case.state == CaseState.REFERRED
    transitions = list(CaseEvent.objects.filter(case=case).values_list("transition", flat=True))
    assert transitions[-2:] == ["expire_appeal_window", "refer"]
    assert list(Referral.objects.filter(case=case).values_list("authority__code", flat=True)) == [
        "US-IPRC"
    ]
    assert verify_case_chain(case.pk) is None


def test_a_short_appeal_window_makes_the_case_due_at_once(settings, analyst, authorities):
    # given APPEAL_WINDOW of zero: the window ends when the account is closed
    settings.APPEAL_WINDOW = timedelta(0)
    case = case_through_services(analyst=analyst, seller_country="DE", marketplace="de")

    output = sweep()

    assert "Referred 1 case." in output
    assert Case.objects.get(pk=case.pk).state == CaseState.REFERRED
    assert list(Referral.objects.filter(case=case).values_list("authority__code", flat=True)) == [
        "EU-IPC3"
    ]


def test_cases_inside_their_window_are_left_alone(analyst, authorities):
    # given a closed account with 30 days to appeal, and a case under appeal review
    open_window = case_through_services(analyst=analyst)
    under_review = case_through_services(analyst=analyst, appeal=True)
    events_before = CaseEvent.objects.count()

    output = sweep("--batch-size", "1")

    assert "Referred 0 cases." in output
    assert Case.objects.get(pk=open_window.pk).state == CaseState.ACCOUNT_CLOSED
    assert Case.objects.get(pk=under_review.pk).state == CaseState.APPEAL_REVIEW
    assert CaseEvent.objects.count() == events_before
    assert not Referral.objects.exists()


def test_due_cases_are_all_referred_across_batches(analyst, authorities):
    cases = [make_due(case_through_services(analyst=analyst)) for _ in range(3)]

    output = sweep("--batch-size", "2")

    assert "Referred 3 cases." in output
    assert set(
        Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("state", flat=True)
    ) == {CaseState.REFERRED}


def test_a_second_sweep_refers_nothing_more(analyst, authorities):
    case = make_due(case_through_services(analyst=analyst))
    sweep()
    events = CaseEvent.objects.filter(case=case).count()

    assert "Referred 0 cases." in sweep()
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Referral.objects.filter(case=case).count() == 1


def test_a_batch_size_below_one_is_refused(db):
    with pytest.raises(CommandError, match="at least 1"):
        sweep("--batch-size", "0")
