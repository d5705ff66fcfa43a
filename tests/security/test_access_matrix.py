"""Access matrix: every route of the project × every kind of caller, and what each may get.

Routes come from the URL resolver (``tests.security.routes``), so an endpoint added tomorrow
fails ``test_every_route_has_an_expectation`` until someone decides who may use it. For each
route and caller the status is checked, every reply is searched for data the caller must not
see (BOLA: the canaries of ``conftest``), and after the refused writes nothing has changed.

``GET/POST`` cells: the status of a GET, then of a POST with a body that also tries to set
protected fields (mass assignment). Roles: anonymous; a brand owner of another brand; a seller
holding the signed link of another case; an analyst; a reviewer; the US authority (owner of the
referral); the EU authority (not its owner).
"""

import pytest

from appeals.models import Appeal
from counterfeits.models import Brand, Case, Report
from referrals.models import Referral
from sellers.models import Seller
from tests.security.conftest import CANARY, MAY_SEE, ROLES, World, client_for
from tests.security.matrix import POST_BODIES, is_api, path_for
from tests.security.routes import all_routes

#   route                        anonymous brand_other seller_other analyst reviewer auth_us auth_eu
EXPECTED_TABLE = """
    workbench:dashboard               302      403      302      200      200      302      302
    login                             200      302      200      302      302      200      200
    logout                            405      405      405      405      405      405      405
    password_change                   302      200      302      200      200      302      302
    password_change_done              302      200      302      200      200      302      302
    password_reset                    200      200      200      200      200      200      200
    password_reset_done               200      200      200      200      200      200      200
    password_reset_confirm            200      200      200      200      200      200      200
    password_reset_complete           200      200      200      200      200      200      200
    api-appeal-list                   401      403      401      200      200      403      403
    api-appeal-detail                 401      403      401      200      200      403      403
    api-appeal-decide             401/401  403/403  401/401  405/200  405/200  403/403  403/403
    api-case-list                 401/401  403/403  401/401  200/400  200/400  403/403  403/403
    api-case-detail                   401      403      401      200      200      403      403
    api-case-transition           401/401  403/403  401/401  405/409  405/409  403/403  403/403
    api-case-evidence             401/401  403/403  401/401  405/415  405/415  403/403  403/403
    api-case-listings             401/401  403/403  401/401  405/409  405/409  403/403  403/403
    api-listing-list                  401      403      401      200      200      403      403
    api-report-list               401/401  200/400  401/401  200/400  200/400  403/403  403/403
    api-report-detail                 401      404      401      200      200      403      403
    api-seller-list                   401      403      401      200      200      403      403
    api-seller-detail                 401      403      401      200      200      403      403
    api-docs                          200      200      200      200      200      200      200
    referral-list                     401      403      401      200      200      200      200
    referral-detail                   401      403      401      200      200      200      404
    referral-acknowledge          401/401  403/403  401/401  405/403  405/403  405/200  405/404
    referral-packet-json              401      403      401      200      200      200      404
    referral-packet-pdf               401      403      401      200      200      200      404
    schema                            200      200      200      200      200      200      200
    api-seller-network                401      403      401      200      200      403      403
    signing-key-list                  200      200      200      200      200      200      200
    appeals:seller_case           404/404  404/404  200/302  404/404  404/404  404/404  404/404
    appeals:seller_evidence           404      404      404      404      404      404      404
    workbench:appeals                 302      403      302      200      200      302      302
    workbench:appeal                  302      403      302      200      200      302      302
    workbench:appeal-evidence-file    302      403      302      200      200      302      302
    workbench:queue                   302      403      302      200      200      302      302
    workbench:case                    302      403      302      200      200      302      302
    workbench:case-assign         405/302  405/403  405/302  405/302  405/302  405/302  405/302
    workbench:case-transition     302/302  403/403  302/302  200/400  200/400  302/302  302/302
    workbench:case-evidence       405/302  405/403  405/302  405/400  405/400  405/302  405/302
    workbench:case-listings       302/302  403/403  302/302  200/409  200/409  302/302  302/302
    workbench:evidence-file           302      403      302      200      200      302      302
    healthz                           200      200      200      200      200      200      200
    portal:dashboard                  302      200      302      403      403      302      302
    portal:analyst_brands             302      403      302      200      200      302      302
    portal:analyst_verify_brand   405/302  405/403  405/302  405/302  405/302  405/302  405/302
    portal:analyst_report             302      403      302      200      200      302      302
    portal:brand_detail               302      404      302      403      403      302      302
    portal:brand_new              302/302  200/400  302/302  403/403  403/403  302/302  302/302
    portal:evidence                   302      404      302      200      200      302      302
    portal:login                      200      200      200      200      200      200      200
    portal:logout                     405      405      405      405      405      405      405
    portal:report_list                302      200      302      403      403      302      302
    portal:report_detail              302      404      302      403      403      302      302
    portal:report_new             302/302  200/400  302/302  403/403  403/403  302/302  302/302
    workbench:referrals               302      403      302      200      200      302      302
    workbench:referral                302      403      302      200      200      302      302
    workbench:referral-retry      405/302  405/403  405/302  405/302  405/302  405/302  405/302
    workbench:seller                  302      403      302      200      200      302      302
    sellers:network                   302      403      302      200      200      302      302
    sellers:open-case             405/302  405/403  405/302  405/400  405/400  405/302  405/302
"""


def _parse(table: str) -> dict[str, dict[str, tuple[int, int | None]]]:
    expected: dict[str, dict[str, tuple[int, int | None]]] = {}
    for line in table.strip().splitlines():
        name, *cells = line.split()
        assert len(cells) == len(ROLES), line
        row = {}
        for role, cell in zip(ROLES, cells, strict=True):
            get, _, post = cell.partition("/")
            row[role] = (int(get), int(post) if post else None)
        expected[name] = row
    return expected


EXPECTED = _parse(EXPECTED_TABLE)
LOGIN_PAGES = ("/accounts/login/", "/portal/login/")


def snapshot(world: World) -> dict[str, object]:
    """The fields a refused request must leave as they were."""
    case = Case.objects.get(pk=world.case.pk)
    referral = Referral.objects.get(pk=world.referral.pk)
    return {
        "case": (case.state, case.confirmed_by_id, case.assignee_id, case.closed_at),
        "appeal": Appeal.objects.filter(pk=world.appeal.pk).values_list(
            "outcome", "decided_by_id", "decision_reason"
        )[0],
        "referral": (referral.status, referral.acknowledged_at, referral.authority_reference),
        "brand": Brand.objects.filter(pk=world.brand.pk).values_list("verified", "name")[0],
        "report": Report.objects.filter(pk=world.report.pk).values_list("status", "case_id")[0],
        "seller": Seller.objects.filter(pk=world.seller.pk).values_list("status", "name")[0],
        "cases": Case.objects.count(),
        "reports": Report.objects.count(),
        "brands": Brand.objects.count(),
    }


def test_every_route_has_an_expectation():
    # Given every URL pattern the project serves
    names = {route.name for route in all_routes()}

    # Then each is in the matrix (a new endpoint must be classified), and none is stale
    assert names - set(EXPECTED) == set(), "add these routes to EXPECTED_TABLE"
    assert set(EXPECTED) - names == set(), "these routes no longer exist"


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_the_role_as_expected_and_leaks_nothing(world, role):
    # Given the world, and a client acting as the role
    client = client_for(world, role)
    before = snapshot(world)
    forbidden = [value for key, value in CANARY.items() if key not in MAY_SEE[role]]
    mismatches: list[str] = []
    leaks: list[str] = []
    tried = 0

    # When it calls every route: GET first, then the writes (which may change the world)
    routes = all_routes()
    calls = [(route, "get") for route in routes] + [
        (route, "post") for route in routes if route.name in POST_BODIES
    ]
    for route, method in calls:
        path = path_for(route, world, role)
        if method == "get":
            response = client.get(path)
            want = EXPECTED[route.name][role][0]
        else:
            body = POST_BODIES[route.name]
            if is_api(route):
                response = client.post(path, body, content_type="application/json")
            else:
                response = client.post(path, body)
            want = EXPECTED[route.name][role][1]
        tried += 1
        got = response.status_code
        if got != want:
            mismatches.append(f"{method.upper()} {path} ({route.name}): {got}, expected {want}")
        content = b"".join(response) if response.streaming else response.content
        for canary in forbidden:
            if canary.encode() in content:
                leaks.append(f"{method.upper()} {path} ({got}) holds {canary}")
        if got == 302 and method == "get" and role not in world.users:
            # without a session, a refusal by redirect goes to a login page, nowhere else
            assert response["Location"].startswith(LOGIN_PAGES), (path, response["Location"])

    # Then every status is the expected one and no reply holds another party's data
    assert not mismatches, "\n".join(mismatches)
    assert not leaks, "\n".join(leaks)
    assert tried == len(calls)
    # and a caller whose writes were all refused changed nothing
    if role in ("anonymous", "brand_other", "seller_other", "authority_eu"):
        assert snapshot(world) == before
    if role == "authority_us":
        after = snapshot(world)
        assert after["referral"][2] == "MATRIX-1"  # its acknowledgement, and nothing else
        assert {k: v for k, v in after.items() if k != "referral"} == {
            k: v for k, v in before.items() if k != "referral"
        }
