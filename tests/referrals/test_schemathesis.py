"""schemathesis over the authority API's own OpenAPI document: no 5xx, nothing off-schema."""

import pytest
import schemathesis
from django.core import signals
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


@pytest.fixture
def authority_schema(db):
    """The document served at /api/v1/schema/, loaded through the WSGI app.

    Requests go straight to the WSGI handler, which closes the database connection when a
    request finishes; the test's transaction lives on that connection, so (like Django's own
    test client) the handler is stopped from closing it while the test runs.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def referral_ids(make_referral, authorities) -> list[int]:
    """Referrals the caller may see (US) and one it may not (EU)."""
    return [make_referral("US").pk, make_referral("US").pk, make_referral("DE").pk]


schema = schemathesis.pytest.from_fixture("authority_schema").include(
    path_regex=r"^/api/v1/(referrals|signing-keys)/"
)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_authority_api_never_errors_and_always_answers_per_its_schema(
    case, us_token, referral_ids, settings
):
    # Given an authority client, and generated requests of which half aim at real referrals
    # (its own, and another authority's), so that success and refusal are both exercised
    settings.AUTHORITY_THROTTLE_RATE = "100000/min"
    if case.path_parameters and "id" in case.path_parameters:
        generated = case.path_parameters["id"]
        if isinstance(generated, int) and generated % 2 == 0:
            case.path_parameters["id"] = referral_ids[generated % len(referral_ids)]

    # When the request is made
    # Then the answer is never a 5xx, and status, content type, headers and body match the schema
    case.call_and_validate(
        headers={"Authorization": f"Bearer {us_token[1]}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )
