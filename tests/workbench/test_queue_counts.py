"""The queue's state tabs at scale: each count stops at a cap and says so, in one query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from counterfeits.choices import CaseState
from tests.factories import BrandFactory, force_state
from tests.workbench.builders import listed_case
from workbench import views

pytestmark = pytest.mark.django_db


def test_a_state_with_more_cases_than_the_cap_shows_the_cap_and_a_plus(analyst_client, monkeypatch):
    # Given three open cases, one dismissed, and a cap of two
    monkeypatch.setattr(views, "STATE_COUNT_CAP", 2)
    for _ in range(3):
        listed_case()
    force_state(listed_case(), CaseState.DISMISSED)

    # When an analyst opens the queue
    response = analyst_client.get(reverse("workbench:queue"))

    # Then the open tab counts up to the cap and is marked as more, the dismissed one is exact
    tabs = {tab["value"]: tab for tab in response.context["state_tabs"]}
    assert (tabs["open"]["count"], tabs["open"]["capped"]) == (2, True)
    assert (tabs["dismissed"]["count"], tabs["dismissed"]["capped"]) == (1, False)
    assert response.context["all_capped"] is True
    page = response.content.decode()
    assert 'data-state="open">Open <b>2+</b>' in page
    assert 'data-state="dismissed">Dismissed <b>1</b>' in page


def test_state_counts_under_a_filter_are_one_query_whatever_the_states(analyst_client):
    # Given cases of one brand in two states, and another brand's case
    brand = BrandFactory()
    listed_case(brand=brand)
    force_state(listed_case(brand=brand), CaseState.DISMISSED)
    listed_case()

    # When the counts are taken under the brand filter
    with CaptureQueriesContext(connection) as queries:
        counts = views.capped_state_counts(views.Case.objects.filter(brand=brand))

    # Then they are the brand's only, from a single query
    assert counts == {CaseState.OPEN: 1, CaseState.DISMISSED: 1}
    assert len(queries) == 1
