"""The seller's pages: the statement of reasons and the appeal, reached by a signed link.

No password: the signed, expiring link in the closure e-mail is the credential. A link that was
altered is a 404, one that expired a 410; neither says anything about the case. Pages carry
``Referrer-Policy: same-origin`` and ``no-store`` so the link does not leak to other sites or
stay in shared caches. (``no-referrer`` would make browsers send ``Origin: null`` with the
form, which the CSRF check rightly refuses.)
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from counterfeits.choices import CaseState
from counterfeits.exceptions import TransitionRefused
from counterfeits.models import Case
from counterfeits.services import case_keeping_account_closed
from counterfeits.uploads import serve_upload
from listings.models import Listing

from .choices import AppealOutcome
from .forms import AppealForm
from .links import LinkRefused, read_token
from .models import Appeal, AppealEvidence
from .services import file_appeal

APPEALABLE = (CaseState.ACCOUNT_CLOSED, CaseState.REFERRAL_PENDING, CaseState.REFERRED)


def _private(response: HttpResponse) -> HttpResponse:
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _case_for(request: HttpRequest, token: str) -> Case | HttpResponse:
    try:
        link = read_token(token)
    except LinkRefused as exc:
        page = render(
            request,
            "appeals/link_refused.html",
            {"expired": exc.expired, "message": str(exc)},
            status=410 if exc.expired else 404,
        )
        return _private(page)
    case = (
        Case.objects.select_related("seller", "brand")
        .filter(pk=link.case_id, seller_id=link.seller_id, account_closed_at__isnull=False)
        .first()
    )
    if case is None:
        raise Http404("No such case.")
    return case


def _context(case: Case, form: AppealForm | None) -> dict:
    now = timezone.now()
    appeal = Appeal.objects.filter(case=case).prefetch_related("evidence").first()
    complaint_until = case.account_closed_at + settings.COMPLAINT_WINDOW
    listings = (
        Listing.objects.filter(Q(delisted_by_case=case) | Q(cases=case))
        .select_related("marketplace")
        .distinct()
        .order_by("id")
    )
    can_appeal = appeal is None and case.state in APPEALABLE and now <= complaint_until
    granted = appeal is not None and appeal.outcome == AppealOutcome.GRANTED
    return {
        # A grant reopens the account unless another case of the seller keeps it closed.
        "still_closed_by": case_keeping_account_closed(case) if granted else None,
        "case": case,
        "seller": case.seller,
        "listings": listings,
        "appeal": appeal,
        "window_open": case.appeal_deadline is not None and now < case.appeal_deadline,
        "complaint_until": complaint_until,
        "can_appeal": can_appeal,
        "form": form if can_appeal else None,
    }


@require_http_methods(["GET", "POST"])
def seller_case(request: HttpRequest, token: str) -> HttpResponse:
    """The statement of reasons (DSA Art. 17) and the one appeal (Art. 20) for a closed account."""
    case = _case_for(request, token)
    if isinstance(case, HttpResponse):
        return case
    form = AppealForm()
    status = 200
    if request.method == "POST":
        form = AppealForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                appeal = file_appeal(
                    case.pk,
                    statement=form.cleaned_data["statement"],
                    evidence=form.cleaned_data["evidence"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
                status = 400
            except TransitionRefused as exc:
                form.add_error(None, exc.why[:1].upper() + exc.why[1:] + ".")
                status = 409
            except ValueError as exc:
                form.add_error("statement", str(exc))
                status = 400
            else:
                kind = "complaint" if appeal.late else "appeal"
                messages.success(request, f"Your {kind} was filed. We will e-mail you the outcome.")
                return _private(redirect("appeals:seller_case", token=token))
        else:
            status = 400
        case.refresh_from_db()
    context = _context(case, form)
    if request.method == "POST" and status == 409 and not context["can_appeal"]:
        context["refusal"] = form.non_field_errors()
    context["token"] = token
    return _private(render(request, "appeals/seller_case.html", context, status=status))


def seller_evidence(request: HttpRequest, token: str, evidence_id: int) -> HttpResponse:
    """One of the seller's own appeal files, as a download (images shown)."""
    case = _case_for(request, token)
    if isinstance(case, HttpResponse):
        return case
    item = get_object_or_404(AppealEvidence, pk=evidence_id, appeal__case=case)
    return _private(
        serve_upload(item.file, content_type=item.content_type, original_name=item.original_name)
    )
