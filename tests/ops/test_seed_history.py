"""seed_demo's past: eight weeks of work replayed under a clock, so the dashboard has a history
(several weekly bars, a real report-to-referral time, appeal windows ending this week) and
every hash chain still verifies."""

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from counterfeits.audit import verify_all_chains
from counterfeits.management.commands.seed_demo import SCENARIOS, PastClock, schedule
from counterfeits.models import Case, CaseEvent, Evidence, Report
from outbox.models import OutboxMessage
from referrals.models import Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded_at():
    """The time the seed ran, and the demo made."""
    before = timezone.now()
    call_command("seed_demo", stdout=StringIO())
    return before


@pytest.fixture
def dashboard(seeded_at):
    client = Client()
    client.force_login(get_user_model().objects.get(username="analyst"))
    response = client.get(reverse("workbench:dashboard"))
    assert response.status_code == 200
    return response.context


def test_the_dashboard_shows_several_weeks_of_work(dashboard):
    weekly = dashboard["weekly"]

    # Cases were opened, confirmed and referred in several different weeks, not all in one
    assert sum(1 for n in weekly["opened"] if n) >= 5
    assert sum(1 for n in weekly["confirmed"] if n) >= 4
    assert sum(1 for n in weekly["referred"] if n) > 1


def test_the_median_report_to_referral_time_is_days_not_minutes(dashboard):
    assert dashboard["median_sample"] >= 4
    assert dashboard["median_to_referral"] > timedelta(days=7)


def test_some_appeal_windows_end_within_the_next_week(dashboard, seeded_at):
    deadlines = [case.appeal_deadline for case in dashboard["deadlines"]]

    assert len(deadlines) >= 3
    assert all(seeded_at < d <= seeded_at + timedelta(days=7) for d in deadlines)


def test_the_history_was_written_as_it_happened_so_every_chain_verifies(seeded_at):
    # Every chain verifies, though its events are weeks old
    cases, _events, broken = verify_all_chains()
    assert broken is None
    assert cases == Case.objects.count()
    oldest = CaseEvent.objects.order_by("at").first().at
    assert oldest < seeded_at - timedelta(weeks=7)

    # and nothing is dated in the future, and each timeline goes forward
    now = timezone.now()
    assert not CaseEvent.objects.filter(at__gt=now).exists()
    assert not Report.objects.filter(created_at__gt=now).exists()
    for case in Case.objects.all():
        times = list(case.events.order_by("seq").values_list("at", flat=True))
        assert times == sorted(times), case.pk
        first_report = case.reports.order_by("created_at").first().created_at
        assert first_report <= case.created_at == times[0]


def test_facts_carry_the_time_they_were_made(seeded_at):
    # Evidence is collected when its report was filed; a referral made when its case was referred
    for evidence in Evidence.objects.exclude(report=None).select_related("report"):
        assert evidence.collected_at == evidence.report.created_at
    for referral in Referral.objects.select_related("case"):
        assert referral.created_at == referral.case.referred_at
    # and the case whose window ran out was referred by the sweep after its deadline
    expired = Case.objects.filter(events__transition="expire_appeal_window").distinct()
    assert expired.exists()
    for case in expired:
        event = case.events.get(transition="expire_appeal_window")
        assert event.at > case.appeal_deadline


def test_the_outbox_keeps_the_real_time(seeded_at):
    # Delivery plumbing is not history: nothing owed looks weeks old
    assert not OutboxMessage.objects.filter(created_at__lt=seeded_at).exists()


def test_the_clock_is_put_back_after_the_seed(seeded_at):
    assert abs(timezone.now() - seeded_at) < timedelta(minutes=10)
    assert abs(Case().created_at - timezone.now()) < timedelta(seconds=5)


def test_a_schedule_longer_than_the_history_moves_back_in_order():
    # Given an appeal window so long that the "expired" story would end after now
    now = timezone.now()
    scenario = next(s for s in SCENARIOS if "expire" in s.steps)

    times = schedule(scenario, now=now, window=timedelta(days=120))

    # Then it all still happened before now, in order, the sweep after the deadline
    moments = [*times.reports, times.opened, *times.steps]
    assert moments == sorted(moments)
    assert moments[-1] < now
    closed = times.steps[scenario.steps.index("close")]
    assert times.steps[scenario.steps.index("expire")] > closed + timedelta(days=120)


def test_the_past_clock_answers_the_moment_it_is_set_to_and_then_the_real_time():
    moment = timezone.now() - timedelta(days=30)

    with PastClock().installed() as clock:
        clock.at(moment)
        inside = (timezone.now(), Report._meta.get_field("created_at").get_default())
        clock.at(None)
        real = timezone.now()

    assert inside == (moment, moment)
    assert real - moment > timedelta(days=29)
    assert Report._meta.get_field("created_at").get_default() - moment > timedelta(days=29)
    assert timezone.now() >= real
