"""The linked-seller network as an htmx partial, for the case and seller pages of the workbench.

The workbench pages include it with ``hx-get="/sellers/<id>/network/?case=<case id>"``; the
partial carries its data in a ``json_script`` and ``static/js/network.js`` draws it as SVG.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from counterfeits.choices import CaseState
from counterfeits.models import Brand, Case
from workbench.access import analyst_required
from workbench.forms import parse_id

from .models import Seller
from .rings import network, open_case_on_linked_seller, ring_brand


def _context_case(request: HttpRequest) -> Case | None:
    case_id = parse_id(request.GET.get("case") or request.POST.get("case"))
    if case_id is None:
        return None
    return Case.objects.filter(pk=case_id).select_related("brand").first()


@require_GET
@analyst_required
def seller_network(request: HttpRequest, pk: int) -> HttpResponse:
    """The seller's group drawn as a network, each member's status and cases, and for a member
    with no open case an "open a case" action."""
    seller = get_object_or_404(Seller, pk=pk)
    data = network(seller)
    case = _context_case(request)
    brand_id = case.brand_id if case else ring_brand(seller)
    open_for = {
        node["id"]
        for node in data["nodes"]
        if not any(c["state"] == CaseState.OPEN for c in node["cases"])
    }
    by_id: dict[int, list] = {node["id"]: [] for node in data["nodes"]}
    for edge in data["edges"]:
        by_id[edge["seller_a"]].append((edge["seller_b"], edge["shared"]))
        by_id[edge["seller_b"]].append((edge["seller_a"], edge["shared"]))
    members = [
        {
            **node,
            "links": by_id[node["id"]],
            "can_open_case": brand_id is not None and node["id"] in open_for,
        }
        for node in data["nodes"]
    ]
    return render(
        request,
        "sellers/_network.html",
        {
            "seller": seller,
            "network": data,
            "members": members,
            "context_case": case,
            "brand_id": brand_id,
            "json_id": f"network-data-{seller.pk}",
        },
    )


@require_POST
@analyst_required
def open_linked_case(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a case on a linked seller, then go to it (htmx follows ``HX-Redirect``)."""
    seller = get_object_or_404(Seller, pk=pk)
    brand_id = parse_id(request.POST.get("brand"))
    if brand_id is None or not Brand.objects.filter(pk=brand_id).exists():
        return HttpResponse("A brand is needed to open a case.", status=400)
    try:
        case = open_case_on_linked_seller(
            seller, actor=request.user, brand_id=brand_id, reason="opened from the network"
        )
    except ValueError as refusal:
        return HttpResponse(str(refusal), status=409)
    target = reverse("workbench:case", args=[case.pk])
    # No full stop of our own: company names often end with one ("Co., Ltd.").
    messages.success(request, f"Case #{case.pk} opened on {seller.display_name}")
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return HttpResponseRedirect(target)
