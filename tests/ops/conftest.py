"""Fixtures for the operator tests: cases given a real timeline through the services."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appeals import services as appeal_services
from config.celery import app as celery_app
from counterfeits import services as case_services
from counterfeits.models import Case
from referrals.services import ensure_default_authorities
from tests.factories import EvidenceFactory, ListingFactory, ReportFactory, SaleFactory


def case_through_services(
    *, analyst, seller_country: str = "US", marketplace: str = "us", appeal: bool = False
) -> Case:
    """A case taken by the services from a brand report to ``account_closed`` (or, with
    ``appeal``, to ``appeal_review``): a real timeline of 3 (or 4) hash-chained events."""
    listing = ListingFactory(seller__country=seller_country, marketplace__code=marketplace)
    SaleFactory(listing=listing, units=4)
    report = ReportFactory(seller=listing.seller, brand=listing.product.brand, listings=[listing])
    EvidenceFactory(report=report)
    case = case_services.open_case(report_ids=[report.pk], actor=analyst, reason="opened")
    case_services.confirm_case(case.pk, actor=analyst, reason="test buy is a fake")
    case_services.close_account(case.pk)
    if appeal:
        appeal_services.file_appeal(case.pk, statement="The goods are genuine.")
    return Case.objects.get(pk=case.pk)


def make_due(case: Case) -> Case:
    """Let the case's appeal window run out (arrange only: the sweep does the transition)."""
    Case.objects.filter(pk=case.pk).update(appeal_deadline=timezone.now() - timedelta(minutes=1))
    return Case.objects.get(pk=case.pk)


@pytest.fixture
def authorities(db):
    """US-IPRC and EU-IPC3 with their routing rules, as deployed."""
    return {authority.code: authority for authority in ensure_default_authorities()}


@pytest.fixture
def purge_broker():
    """Transactional tests run on-commit hooks, which queue real tasks: leave no message behind
    for a later test's worker."""
    yield
    celery_app.control.purge()
