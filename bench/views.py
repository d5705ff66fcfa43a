"""Baselines: the least a Django view can do for the same answer. Mounted by bench.urls only."""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from counterfeits.models import Report
from referrals.models import Authority, Referral

# The same columns the authority API's list returns for each referral.
REFERRAL_FIELDS = (
    "id",
    "case_id",
    "status",
    "brand_name",
    "seller_country",
    "sha256",
    "key_id",
    "created_at",
    "delivered_at",
    "acknowledged_at",
)
PAGE = 100


def ready(request: HttpRequest) -> HttpResponse:
    """What the bench polls until gunicorn serves."""
    return HttpResponse("ok", content_type="text/plain")


def baseline_referrals(request: HttpRequest) -> JsonResponse:
    """One authority's referrals after ``?after=<id>``, 100 a page, ``.values()`` + JsonResponse."""
    authority_id = Authority.objects.values_list("id", flat=True).get(code=request.GET["authority"])
    after = int(request.GET.get("after", "0"))
    rows = list(
        Referral.objects.filter(authority_id=authority_id, id__gt=after)
        .order_by("id")
        .values(*REFERRAL_FIELDS)[:PAGE]
    )
    following = rows[-1]["id"] if len(rows) == PAGE else None
    return JsonResponse({"next": following, "results": rows})


@csrf_exempt
def baseline_report_insert(request: HttpRequest) -> JsonResponse:
    """Insert a report row like the intake's, from the same body, with no checks at all."""
    body = json.loads(request.body)
    report = Report.objects.create(
        brand_id=body["brand"],
        seller_id=body["seller"],
        reason=body["reason"],
        explanation=body["explanation"],
        notifier_name=body["notifier_name"],
        notifier_email=body["notifier_email"],
        good_faith=body["good_faith"],
    )
    return JsonResponse({"id": report.pk}, status=201)
