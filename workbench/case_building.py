"""Building an open case from the workbench: add evidence files, add the seller's listings.

A case opened from the ring network starts with no listings and no evidence, and cannot be
confirmed until an analyst adds both. These views are thin: the rules (only while the case is
open, only the case's seller's listings, files checked by their content) live in
``counterfeits.services.add_case_evidence`` and ``add_case_listings``, which the API calls too.
A refusal is shown with the status the API gives (400, 409) and nothing changes.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from counterfeits.choices import CaseState
from counterfeits.exceptions import TransitionRefused
from counterfeits.models import Case
from counterfeits.services import add_case_evidence, add_case_listings
from listings.models import Listing, Sale

from .access import analyst_required, is_htmx
from .forms import CaseEvidenceForm, CaseListingsForm
from .views import case_context

# The search shows this many of the seller's listings at most: a seller with thousands is
# narrowed by the search box, not paged through.
CANDIDATES_SHOWN = 50
MAX_SEARCH_LENGTH = 200


def _case(pk: int) -> Case:
    return get_object_or_404(
        Case.objects.select_related("seller", "brand", "assignee", "confirmed_by", "opened_by"),
        pk=pk,
    )


def _refused(exc: TransitionRefused) -> str:
    return f"Refused: {exc.why}."


def _copy_errors(form: CaseEvidenceForm | CaseListingsForm, exc: ValidationError) -> None:
    """Put a service's field errors on the form (fields it does not have go to the top)."""
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


@require_POST
@analyst_required
def case_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    """Store the uploaded files as evidence of an open case, then go back to the case page.

    On a refusal the case page is shown again with the form, its errors and the API's status.
    """
    case = _case(pk)
    form = CaseEvidenceForm(request.POST, request.FILES, auto_id="evidence_%s")
    status, refusal = 400, ""
    if form.is_valid():
        try:
            stored = add_case_evidence(
                case.pk,
                actor=request.user,
                uploads=form.cleaned_data["files"],
                kind=form.cleaned_data["kind"],
                description=form.cleaned_data["description"],
            )
        except TransitionRefused as exc:
            status, refusal = 409, _refused(exc)
        except ValidationError as exc:
            _copy_errors(form, exc)
        else:
            if stored:
                messages.success(request, f"Case #{case.pk}: {len(stored)} evidence file(s) added.")
            else:
                messages.info(request, f"Case #{case.pk}: these files are already evidence.")
            return HttpResponseRedirect(reverse("workbench:case", args=[case.pk]) + "#evidence")
    context = case_context(case, request.user)
    context.update({"evidence_form": form, "evidence_refusal": refusal})
    return render(request, "workbench/case_detail.html", context, status=status)


def candidate_listings(case: Case, query: str) -> QuerySet[Listing]:
    """The seller's listings of the case's brand not on the case yet, newest first, matching
    ``query`` (title, listing id, GTIN or marketplace), with units sold: one query."""
    units = (
        Sale.objects.filter(listing=OuterRef("pk"))
        .order_by()
        .values("listing")
        .annotate(n=Sum("units"))
        .values("n")
    )
    listings = (
        Listing.objects.filter(seller_id=case.seller_id, product__brand_id=case.brand_id)
        .exclude(cases=case)
        .select_related("marketplace", "product")
        .annotate(units_sold=Coalesce(Subquery(units), 0, output_field=IntegerField()))
        .order_by("-id")
    )
    if query:
        listings = listings.filter(
            Q(title__icontains=query)
            | Q(external_id__icontains=query)
            | Q(product__gtin=query)
            | Q(marketplace__code__iexact=query)
        )
    return listings


@require_http_methods(["GET", "POST"])
@analyst_required
def case_listings(request: HttpRequest, pk: int) -> HttpResponse:
    """Search the seller's listings (GET) and add the ticked ones to the open case (POST).

    An htmx request gets the search form and its results only, for the case page's panel.
    """
    case = _case(pk)
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()[:MAX_SEARCH_LENGTH]
    form = CaseListingsForm(request.POST or None)
    status, refusal = 200, ""
    if case.state != CaseState.OPEN:
        refusal = (
            "Listings can be added only while the case is open; it is "
            f"{case.get_state_display().lower()}."
        )
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                added = add_case_listings(
                    case.pk, actor=request.user, listing_ids=form.cleaned_data["listing"]
                )
            except TransitionRefused as exc:
                status, refusal = 409, _refused(exc)
            except ValidationError as exc:
                _copy_errors(form, exc)
            else:
                messages.success(request, f"Case #{case.pk}: {len(added)} listing(s) added.")
                target = reverse("workbench:case", args=[case.pk])
                if is_htmx(request):
                    return HttpResponse(status=204, headers={"HX-Redirect": target})
                return HttpResponseRedirect(target)
    candidates = (
        list(candidate_listings(case, query)[:CANDIDATES_SHOWN])
        if case.state == CaseState.OPEN
        else []
    )
    context = {
        "nav": "queue",
        "case": case,
        "form": form,
        "query": query,
        "candidates": candidates,
        "candidates_capped": len(candidates) == CANDIDATES_SHOWN,
        "refusal": refusal,
    }
    template = (
        "workbench/_case_listings_form.html" if is_htmx(request) else "workbench/case_listings.html"
    )
    return render(request, template, context, status=status)
