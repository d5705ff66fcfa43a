"""The brand-owner portal. Thin: check who is asking, call a service, render.

A brand owner sees only the brands they belong to and those brands' reports; anything else is a
404, exactly like something that does not exist. Analysts get two small tools here: verifying a
brand and triaging a report that no case was opened on.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from counterfeits.brands import TrademarkEntry, brands_of, register_brand, verify_brand
from counterfeits.choices import NoticeKind, ReportStatus
from counterfeits.intake import (
    EvidenceUpload,
    IntakeSuspended,
    ReportRefused,
    current_measure,
    lookback_label,
    notifier_quality,
    reject_report,
    resolve_listings,
    start_review,
    suspension_in_force,
    with_quality,
)
from counterfeits.models import Brand, Evidence, IntakeMeasure, Notice, Report, Trademark
from counterfeits.roles import is_analyst, is_brand_owner
from counterfeits.services import file_report, reports_visible_to
from counterfeits.uploads import serve_upload
from listings.models import Listing
from workbench.forms import parse_id
from workbench.lockout import LockoutMixin

from .forms import (
    BrandForm,
    BrandOwnerAuthenticationForm,
    ListingSearchForm,
    RejectReportForm,
    ReportForm,
    TrademarkFormSet,
)

PAGE_SIZE = 50
SEARCH_LIMIT = 25
LOGIN_URL = reverse_lazy("portal:login")


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/forbidden.html", {"message": message}, status=403)


def brand_owner_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-in members of the ``brand_owner`` group; others are sent to sign in or refused."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), LOGIN_URL)
        if not is_brand_owner(request.user):
            return _forbidden(request, "The brand-owner portal is for brand owners.")
        return view(request, *args, **kwargs)

    return wrapper


def analyst_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_analyst(request.user):
            return _forbidden(request, "Only trust-and-safety analysts may do this.")
        return view(request, *args, **kwargs)

    return wrapper


class PortalLoginView(LockoutMixin, auth_views.LoginView):
    """The brand owners' sign-in, with the workbench's failed-login lockout (same counters)."""

    template_name = "portal/login.html"
    authentication_form = BrandOwnerAuthenticationForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("portal:dashboard")


def _reports_of(user) -> QuerySet[Report]:
    return reports_visible_to(user).filter(brand__in=brands_of(user))


def _report_rows(reports: QuerySet[Report]) -> QuerySet[Report]:
    # One query for the page, whatever its length: the list shows brand, seller and counts.
    return reports.select_related("brand", "seller").annotate(
        listing_count=Count("listings", distinct=True),
        evidence_count=Count("evidence", distinct=True),
    )


# --- brand owner ---------------------------------------------------------------------------


@require_GET
@brand_owner_required
def dashboard(request: HttpRequest) -> HttpResponse:
    brands = list(
        with_quality(brands_of(request.user)).prefetch_related("trademarks").order_by("name")
    )
    suspended = {
        m.brand_id: m
        for m in IntakeMeasure.objects.filter(brand__in=brands).order_by("starts_at")
        if m.in_force()
    }
    rows = [
        {"brand": b, "quality": notifier_quality(b), "suspension": suspended.get(b.pk)}
        for b in brands
    ]
    counts = dict(
        _reports_of(request.user)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    recent = _report_rows(_reports_of(request.user)).order_by("-id")[:10]
    return render(
        request,
        "portal/dashboard.html",
        {
            "rows": rows,
            "statuses": [(s, label, counts.get(s, 0)) for s, label in ReportStatus.choices],
            "recent": recent,
            "lookback": lookback_label(),
            "nav": "dashboard",
        },
    )


@require_http_methods(["GET", "POST"])
@brand_owner_required
def brand_new(request: HttpRequest) -> HttpResponse:
    form = BrandForm(request.POST or None)
    formset = TrademarkFormSet(request.POST or None, prefix="tm")
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            entries = [
                TrademarkEntry(f["office"], f["number"], f.get("classes", ""))
                for f in formset.cleaned_data
                if f and f.get("number")
            ]
            try:
                brand = register_brand(
                    owner=request.user, name=form.cleaned_data["name"], trademarks=entries
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error("name" if field == "name" else None, error)
            else:
                messages.success(
                    request,
                    f"{brand.name} is registered. An analyst will verify its trademarks; until "
                    "then its reports are handled as any notifier's.",
                )
                return redirect("portal:brand_detail", brand_id=brand.pk)
        status = 400
    return render(
        request,
        "portal/brand_form.html",
        {"form": form, "formset": formset, "nav": "brands"},
        status=status,
    )


@require_GET
@brand_owner_required
def brand_detail(request: HttpRequest, brand_id: int) -> HttpResponse:
    brand = get_object_or_404(
        with_quality(brands_of(request.user)).prefetch_related("trademarks"), pk=brand_id
    )
    return render(
        request,
        "portal/brand_detail.html",
        {
            "brand": brand,
            "quality": notifier_quality(brand),
            "lookback": lookback_label(),
            "measure": current_measure(brand),
            "measures": IntakeMeasure.objects.filter(brand=brand)[:10],
            "nav": "brands",
        },
    )


@require_GET
@brand_owner_required
def report_list(request: HttpRequest) -> HttpResponse:
    reports = _reports_of(request.user)
    status = request.GET.get("status", "")
    if status in ReportStatus.values:
        reports = reports.filter(status=status)
    page = Paginator(_report_rows(reports).order_by("-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "portal/report_list.html",
        {"page": page, "status": status, "statuses": ReportStatus.choices, "nav": "reports"},
    )


def _field_for(form: ReportForm, field: str) -> str | None:
    aliases = {"seller": "references", "good_faith": "good_faith", "brand": "brand"}
    field = aliases.get(field, field)
    return field if field in form.fields else None


@require_http_methods(["GET", "POST"])
@brand_owner_required
def report_new(request: HttpRequest) -> HttpResponse:
    brands = brands_of(request.user).order_by("name")
    search = ListingSearchForm(request.GET or None)
    found = Listing.objects.none()
    query = ""
    if search.is_valid() and search.cleaned_data["q"].strip():
        query = search.cleaned_data["q"].strip()
        found = Listing.objects.filter(
            Q(title__icontains=query) | Q(external_id__iexact=query) | Q(url__iexact=query)
        ).order_by("-id")
    status = 200
    if request.method == "POST":
        posted = [pk for v in request.POST.getlist("listings") if (pk := parse_id(v))]
        choices = Listing.objects.filter(pk__in=posted)
        form = ReportForm(request.POST, request.FILES, brands=brands, listing_choices=choices)
        if form.is_valid():
            response = _file(request, form)
            if response is not None:
                return response
        status = 409 if form.has_error("__all__", "intake_suspended") else 400
    else:
        ids = list(found.values_list("pk", flat=True)[:SEARCH_LIMIT])
        choices = Listing.objects.filter(pk__in=ids).order_by("-id")
        form = ReportForm(
            brands=brands,
            listing_choices=choices,
            initial={
                "notifier_name": request.user.get_full_name() or request.user.get_username(),
                "notifier_email": request.user.email,
                "brand": request.GET.get("brand") or None,
            },
        )
    listing_rows = form.fields["listings"].queryset.select_related("seller", "marketplace")
    suspensions = [(brand, m) for brand in brands if (m := suspension_in_force(brand)) is not None]
    return render(
        request,
        "portal/report_form.html",
        {
            "form": form,
            "search": search,
            "query": query,
            "listing_rows": listing_rows,
            "suspensions": suspensions,
            "nav": "new",
        },
        status=status,
    )


def _file(request: HttpRequest, form: ReportForm) -> HttpResponse | None:
    data = form.cleaned_data
    ids, missing = resolve_listings(data["references"])
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        form.add_error("references", f"No listing is known at: {shown}.")
        return None
    ids = sorted(set(ids) | {listing.pk for listing in data["listings"]})
    evidence = [
        EvidenceUpload(f, data["evidence_kind"], data["evidence_description"])
        for f in data["evidence"]
    ]
    try:
        report = file_report(
            brand=data["brand"],
            reporter=request.user,
            listing_ids=ids,
            reason=data["reason"],
            explanation=data["explanation"],
            notifier_name=data["notifier_name"],
            notifier_email=data["notifier_email"],
            good_faith=data["good_faith"],
            evidence=evidence,
        )
    except IntakeSuspended as exc:
        form.add_error(None, ValidationError(exc.message, code="intake_suspended"))
        return None
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(_field_for(form, field), error)
        return None
    messages.success(request, f"Report #{report.pk} was received. We will e-mail each change.")
    return redirect("portal:report_detail", report_id=report.pk)


def _report_for(user, report_id: int) -> Report:
    reports = (
        _reports_of(user)
        .select_related("brand", "seller", "case")
        .prefetch_related(
            Prefetch("listings", queryset=Listing.objects.select_related("marketplace")),
            Prefetch("evidence", queryset=Evidence.objects.order_by("id")),
        )
    )
    return get_object_or_404(reports, pk=report_id)


def _report_page(
    request: HttpRequest, report: Report, *, status: int = 200, **extra: object
) -> HttpResponse:
    history = Notice.objects.filter(report=report, kind=NoticeKind.REPORT_STATUS).order_by("id")
    context = {
        "report": report,
        "history": history,
        "is_analyst": is_analyst(request.user),
        "nav": "reports",
        **extra,
    }
    return render(request, "portal/report_detail.html", context, status=status)


@require_GET
@brand_owner_required
def report_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    return _report_page(request, _report_for(request.user, report_id))


@require_GET
def evidence_download(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """A report's evidence file, for members of the report's brand and for analysts."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), LOGIN_URL)
    if not (is_brand_owner(request.user) or is_analyst(request.user)):
        return _forbidden(request, "The brand-owner portal is for brand owners.")
    item = get_object_or_404(
        Evidence.objects.filter(report__in=_reports_of(request.user)).exclude(file=""),
        pk=evidence_id,
    )
    return serve_upload(item.file, content_type=item.content_type, original_name=item.original_name)


# --- analyst tools -------------------------------------------------------------------------


@require_GET
@analyst_required
def analyst_brands(request: HttpRequest) -> HttpResponse:
    brands = (
        with_quality(Brand.objects.all())
        .prefetch_related(Prefetch("trademarks", queryset=Trademark.objects.order_by("id")))
        .order_by("verified", "name")
    )
    page = Paginator(brands, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/analyst_brands.html",
        {"page": page, "nav": "analyst", "lookback": lookback_label()},
    )


@require_POST
@analyst_required
def analyst_verify_brand(request: HttpRequest, brand_id: int) -> HttpResponse:
    brand = verify_brand(get_object_or_404(Brand, pk=brand_id).pk, actor=request.user)
    messages.success(request, f"{brand.name} is verified.")
    return redirect("portal:analyst_brands")


@require_http_methods(["GET", "POST"])
@analyst_required
def analyst_report(request: HttpRequest, report_id: int) -> HttpResponse:
    report = _report_for(request.user, report_id)
    form = RejectReportForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "review":
                start_review(report.pk, actor=request.user)
                messages.success(request, f"Report #{report.pk} is in review.")
                return redirect("portal:analyst_report", report_id=report.pk)
            if action == "reject" and form.is_valid():
                reject_report(
                    report.pk,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    manifestly_unfounded=form.cleaned_data["manifestly_unfounded"],
                )
                messages.success(request, f"Report #{report.pk} was rejected.")
                return redirect("portal:analyst_report", report_id=report.pk)
        except ReportRefused as exc:
            messages.error(request, str(exc))
            return redirect("portal:analyst_report", report_id=report.pk)
        except ValidationError as exc:
            for errors in exc.message_dict.values():
                for error in errors:
                    form.add_error("reason", error)
        return _report_page(request, report, reject_form=form, status=400)
    return _report_page(request, report, reject_form=form)
