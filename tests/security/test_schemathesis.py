"""schemathesis over the WHOLE OpenAPI document: every operation, as an analyst and as an
authority, with generated (and half the time real) ids: never a 5xx, never off-schema."""

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.security.conftest import World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def whole_schema(db):
    """/api/v1/schema/ through the WSGI app, which must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("whole_schema")


def real_ids(world: World) -> dict[str, list[int]]:
    """Ids that exist, by the path's first segment, so generated calls also reach real rows."""
    return {
        "appeals": [world.appeal.pk],
        "cases": [world.case.pk, world.other_case.pk],
        "reports": [world.report.pk],
        "sellers": [world.seller.pk],
        "referrals": [world.referral.pk],
    }


def _aim(case, world: World) -> None:
    segment = case.path.strip("/").split("/")[2] if case.path.count("/") > 3 else ""
    for name, value in list((case.path_parameters or {}).items()):
        ids = real_ids(world).get(segment)
        if ids and name in ("id", "pk") and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = ids[value % len(ids)]


SETTINGS = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.parametrize()
@SETTINGS
def test_every_operation_as_an_analyst_never_errors_and_matches_the_schema(case, world):
    # Given an analyst's API token, and requests aimed half the time at real objects
    cache.clear()
    _aim(case, world)

    # When the generated request is made
    # Then the answer is never a 5xx, and status, type, headers and body are as documented
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.tokens['analyst']}"}, checks=CHECKS
    )


@schema.parametrize()
@SETTINGS
def test_every_operation_as_an_authority_never_errors_and_matches_the_schema(case, world):
    # Given the US authority's token (analyst-only operations must refuse it as documented)
    cache.clear()
    _aim(case, world)

    # When the generated request is made
    # Then the answer is never a 5xx, and status, type, headers and body are as documented
    case.call_and_validate(
        headers={"Authorization": f"Bearer {world.tokens['authority_us']}"}, checks=CHECKS
    )
