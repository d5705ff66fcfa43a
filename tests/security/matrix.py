"""How each route is called in the access matrix: its ids, its method, its body.

Bodies that change things also try to set fields no client may set (mass assignment):
``state``, ``confirmed_by``, ``status``, ``verified``, ``acknowledged_at``... The matrix checks
afterwards that none of them took effect.
"""

from tests.security.conftest import World
from tests.security.routes import Route, fill

# Fields a client must never be able to set through a body.
MASS_ASSIGNMENT = {
    "state": "referred",
    "confirmed_by": 1,
    "status": "acknowledged",
    "verified": True,
    "acknowledged_at": "2020-01-01T00:00:00Z",
    "seller": None,
    "is_staff": True,
    "outcome_reason": "forged",
    "trusted_flagger": True,
}

# Routes that change something answer POST; each is also tried with GET.
POST_BODIES: dict[str, dict] = {
    "api-appeal-decide": {"outcome": "denied", "reason": "matrix"},
    "api-case-transition": {"reason": "matrix"},
    # JSON carries no files: the evidence endpoint takes multipart only (415).
    "api-case-evidence": {"kind": "photo", "description": "matrix"},
    "api-case-listings": {"listing_ids": [1]},
    "api-case-list": {"report_ids": [], "reason": "matrix"},
    "api-report-list": {
        "reason": "counterfeit",
        "explanation": "matrix",
        "notifier_name": "Matrix",
        "notifier_email": "matrix@example.com",
        "good_faith": True,
    },
    "referral-acknowledge": {"authority_reference": "MATRIX-1"},
    "workbench:case-assign": {},
    "workbench:case-transition": {"reason": "matrix"},
    "workbench:case-evidence": {"kind": "photo", "description": "matrix"},
    "workbench:case-listings": {"listing": ["1"]},
    "workbench:referral-retry": {},
    "portal:analyst_verify_brand": {},
    "portal:brand_new": {"name": "Matrix brand"},
    "portal:report_new": {"explanation": "matrix"},
    "sellers:open-case": {"reason": "matrix"},
    "appeals:seller_case": {"statement": "matrix appeal"},
}

JSON_ROUTES = {"api-", "referral-", "schema", "signing-key"}


def is_api(route: Route) -> bool:
    return route.name.startswith(("api-", "referral-", "signing-key", "schema"))


def path_for(route: Route, world: World, role: str) -> str:
    """The route's path with the target objects' ids; a seller uses their own signed link."""
    pk = {
        "api-appeal-detail": world.appeal.pk,
        "api-appeal-decide": world.appeal.pk,
        "api-case-detail": world.case.pk,
        "api-case-transition": world.case.pk,
        "api-case-evidence": world.case.pk,
        "api-case-listings": world.case.pk,
        "api-report-detail": world.report.pk,
        "api-seller-detail": world.seller.pk,
        "api-seller-network": world.seller.pk,
        "referral-detail": world.referral.pk,
        "referral-acknowledge": world.referral.pk,
        "referral-packet-json": world.referral.pk,
        "referral-packet-pdf": world.referral.pk,
        "workbench:appeal": world.appeal.pk,
        "workbench:appeal-evidence-file": world.appeal.pk,
        "workbench:case": world.case.pk,
        "workbench:case-assign": world.case.pk,
        "workbench:case-transition": world.case.pk,
        "workbench:case-evidence": world.case.pk,
        "workbench:case-listings": world.case.pk,
        "workbench:evidence-file": world.evidence.pk,
        "workbench:referral": world.referral.pk,
        "workbench:referral-retry": world.referral.pk,
        "workbench:seller": world.seller.pk,
        "sellers:network": world.seller.pk,
        "sellers:open-case": world.seller.pk,
    }.get(route.name, 0)
    if role == "seller_other":
        token = world.other_seller_token  # their own link, used to reach the target's things
    else:
        token = world.seller_token[:-2] + "xx"  # the target's link, tampered with
    values = {
        "pk": pk,
        "name": "grant_appeal" if "transition" in route.name else "",
        "report_id": world.report.pk,
        "brand_id": world.brand.pk,
        "evidence_id": (
            world.appeal_evidence.pk
            if route.name in {"appeals:seller_evidence", "workbench:appeal-evidence-file"}
            else world.evidence.pk
        ),
        "token": token,
        "uidb64": "MQ",
        "format": "json",
    }
    return fill(route.pattern, values)
