"""The analyst queue puts priority first by default, and shows each case's priority."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from counterfeits.models import Case
from tests.factories import CaseFactory
from tests.workbench.builders import listed_case

pytestmark = pytest.mark.django_db


def case_ids(response) -> list[int]:
    return [case.pk for case in response.context["page"].rows]


def with_priority(priority: int) -> Case:
    case = listed_case()
    Case.objects.filter(pk=case.pk).update(priority=priority)
    return case


def test_the_queue_sorts_by_priority_then_newest_by_default(analyst_client):
    # Given cases of every priority, made in an order that is not the priority order
    older_plain = with_priority(0)
    ring = with_priority(3)
    accurate = with_priority(1)
    older_flagger = with_priority(2)
    newer_flagger = with_priority(2)
    newer_plain = with_priority(0)

    # When the analyst opens the queue without choosing a sort
    response = analyst_client.get(reverse("workbench:queue"))

    # Then the highest priority comes first, newest first within a priority
    assert response.context["sort"] == "priority"
    assert case_ids(response) == [
        ring.pk,
        newer_flagger.pk,
        older_flagger.pk,
        accurate.pk,
        newer_plain.pk,
        older_plain.pk,
    ]


def test_the_sort_menu_has_priority_selected_by_default(analyst_client):
    page = analyst_client.get(reverse("workbench:queue")).content.decode()

    assert re.search(r'<option value="priority" selected>', page)


def test_another_sort_can_still_be_chosen(analyst_client):
    plain = with_priority(0)
    ring = with_priority(3)

    response = analyst_client.get(reverse("workbench:queue"), {"sort": "oldest"})

    assert case_ids(response) == [plain.pk, ring.pk]


def test_each_row_shows_its_priority_badge_and_why(analyst_client):
    ring = with_priority(3)
    flagger = with_priority(2)
    accurate = with_priority(1)
    by_hand = with_priority(7)
    plain = with_priority(0)

    page = analyst_client.get(reverse("workbench:queue")).content.decode()

    assert "<th>Priority</th>" in page

    def cell(case: Case) -> str:
        found = re.search(
            rf'<tr data-case="{case.pk}">.*?<td data-label="Priority"[^>]*>(.*?)</td>', page, re.S
        )
        assert found, case.pk
        return " ".join(found.group(1).split())

    assert "badge--priority" in cell(ring)
    assert "P3 · ring" in cell(ring)
    assert "P2 · trusted flagger" in cell(flagger)
    assert "P1 · accurate notifier" in cell(accurate)
    assert "P7 · set by hand" in cell(by_hand)
    assert "badge" not in cell(plain)
    assert "—" in cell(plain)


def test_paging_in_priority_order_visits_every_case_once(analyst_client, monkeypatch):
    # Given more cases than a page, across priorities
    monkeypatch.setattr("workbench.views.PAGE_SIZE", 4)
    made = [(n % 4, with_priority(n % 4).pk) for n in range(11)]
    expected = [pk for _, pk in sorted(made, key=lambda item: (-item[0], -item[1]))]

    # When the analyst follows the "next" links from the default queue
    seen, params = [], {}
    while True:
        response = analyst_client.get(reverse("workbench:queue"), params)
        seen += case_ids(response)
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
        params = {"after": cursor}

    # Then every case comes exactly once, in priority order
    assert seen == expected


def test_the_default_queue_costs_the_same_queries_for_1_and_50_cases(analyst_client):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert analyst_client.get(reverse("workbench:queue")).status_code == 200
        return len(ctx.captured_queries)

    CaseFactory()
    one = count()
    for n in range(49):
        with_priority(n % 4)
    assert count() == one
