"""Workbench fixtures: signed-in clients per role, and the browser for the Playwright tests."""

import os

import pytest
from django.test import Client

# Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test body
# (arranging data, reading results) are still synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def analyst_client(analyst) -> Client:
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    client = Client()
    client.force_login(reviewer)
    return client


@pytest.fixture
def brand_client(brand_owner_user) -> Client:
    client = Client()
    client.force_login(brand_owner_user)
    return client
