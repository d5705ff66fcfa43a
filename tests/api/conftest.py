"""Helpers for the analyst and brand API tests: clients acting as someone, cases in a state."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from appeals.models import Appeal
from counterfeits.choices import CaseState
from counterfeits.models import Case
from tests.factories import confirmable_case, force_state

# The state machine's sources for each transition (counterfeits.models.Case), as DESIGN.md draws.
SOURCES: dict[str, set[str]] = {
    "confirm": {CaseState.OPEN},
    "dismiss": {CaseState.OPEN},
    "close_account": {CaseState.CONFIRMED},
    "file_appeal": {CaseState.ACCOUNT_CLOSED, CaseState.REFERRAL_PENDING, CaseState.REFERRED},
    "grant_appeal": {CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING},
    "deny_appeal": {CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING, CaseState.REFERRED},
    "expire_appeal_window": {CaseState.ACCOUNT_CLOSED},
    "refer": {CaseState.REFERRAL_PENDING, CaseState.ACCOUNT_CLOSED},
    "reinstate_after_referral": {CaseState.REFERRED},
}


@pytest.fixture
def client_for():
    """``client_for(user)``: a DRF client authenticated as ``user`` (one client per user)."""

    def make(user) -> APIClient:
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def transition_url(case: Case, name: str) -> str:
    return f"/api/v1/cases/{case.pk}/transitions/{name}/"


def case_in(state: str, *, confirmed_by=None, appeal: bool = False, **fields) -> Case:
    """A case in ``state`` that meets every condition but the state: evidence, units sold, an
    appeal window that has run out; with ``appeal=True`` a pending appeal too."""
    case = confirmable_case()
    now = timezone.now()
    if state != CaseState.OPEN:
        fields.setdefault("confirmed_at", now - timedelta(days=40))
        fields.setdefault("confirmed_by", confirmed_by)
        fields.setdefault("account_closed_at", now - timedelta(days=40))
        fields.setdefault("appeal_deadline", now - timedelta(days=10))
    case = force_state(case, state, **fields)
    if appeal:
        Appeal.objects.create(case=case, statement="These were genuine goods.")
    return case
