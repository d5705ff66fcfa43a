"""The analyst workbench: thin views over the same services the API calls.

Every view is for analysts, reviewers and admins (``analyst_required``). State changes go through
``counterfeits.services``, ``appeals.services`` and ``referrals.services``; a refusal from a
service is shown on the page, with the HTTP status the API would give (409, 403), and nothing
changes. Lists use keyset pagination and a fixed number of queries whatever their length.
"""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView, PasswordResetView
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    QueryDict,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appeals.choices import AppealOutcome
from appeals.models import Appeal, AppealEvidence
from appeals.services import decide_appeal, decide_case_appeal
from counterfeits.audit import EVENT_FIELDS, read_case_chain
from counterfeits.choices import CaseState
from counterfeits.exceptions import PermissionRefused, TransitionRefused
from counterfeits.models import Brand, Case, CaseEvent, Evidence
from counterfeits.roles import is_analyst, is_brand_owner
from counterfeits.services import allowed_transitions, assign_case, confirm_case, dismiss_case
from counterfeits.uploads import IMAGE_TYPES, serve_upload
from listings.models import Listing, Sale
from referrals.choices import ReferralStatus
from referrals.models import AccessLogEntry, Authority, DeliveryAttempt, Referral
from referrals.services import retry_failed_delivery, retry_failed_retraction
from sellers.models import Seller, SellerStatusChange
from sellers.rings import CONFIRMED_STATES, ring_review

from . import lockout
from .access import analyst_required, is_htmx
from .filters import DUE_SOON, CaseQueueFilterSet
from .forms import AppealDecisionForm, DismissForm, TransitionForm, parse_id
from .paging import SortKey, keyset_page

PAGE_SIZE = 50
# The referral list's pseudo-status for retractions whose push was given up.
RETRACTION_FAILED = "retraction_failed"

# The ring review panel is shown from confirmation on, while the finding stands.
RING_REVIEW_STATES = frozenset(CONFIRMED_STATES)


# --- login with lockout ----------------------------------------------------------------------


class LockoutLoginView(lockout.LockoutMixin, LoginView):
    """Django's login, refusing a username from an address after five failures for 15 minutes.

    While locked, even the right password is refused, so guessing gains nothing.
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        # A brand owner signing in here has no workbench to see: send them to their portal.
        user = self.request.user
        if is_brand_owner(user) and not is_analyst(user):
            try:
                return reverse("portal:dashboard")
            except NoReverseMatch:
                pass
        return super().get_default_redirect_url()


class ThrottledPasswordResetView(lockout.ThrottledPasswordResetMixin, PasswordResetView):
    """Django's password reset, sending at most a few e-mails an hour per address and per client
    address; beyond that it answers as usual and sends nothing."""


class AdminLoginView(lockout.LockoutMixin, LoginView):
    """The Django admin's sign-in page behind the same lockout (and shared counters) as the
    workbench's and the portal's: the operator's account is the last one to leave open to
    guessing. Form, template and context are the admin's own (``AdminSite.login``)."""

    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if admin.site.has_permission(request):
            return HttpResponseRedirect(self.get_success_url())
        return super().get(request, *args, **kwargs)

    def get_default_redirect_url(self) -> str:
        return reverse("admin:index", current_app=admin.site.name)

    def get_context_data(self, **kwargs: object) -> dict:
        self.request.current_app = admin.site.name
        return {
            **super().get_context_data(**kwargs),
            **admin.site.each_context(self.request),
            "title": "Log in",
            "subtitle": None,
            "app_path": self.request.get_full_path(),
            "username": self.request.user.get_username(),
            self.redirect_field_name: self.get_success_url(),
        }


# --- dashboard -------------------------------------------------------------------------------

WEEKS_ON_CHART = 12
MEDIAN_WINDOW = timedelta(days=180)


def _weekly(queryset: QuerySet, field: str, since: datetime) -> dict:
    rows = (
        queryset.filter(**{f"{field}__gte": since})
        .annotate(week=TruncWeek(field))
        .values("week")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["week"].date(): row["n"] for row in rows if row["week"] is not None}


@require_GET
@analyst_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Cases by state, weekly flow (chart), deadlines this week, time to referral, authorities."""
    now = timezone.now()
    by_state = dict(
        Case.objects.values_list("state")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("state", "n")
    )
    states = [(value, label, by_state.get(value, 0)) for value, label in CaseState.choices]
    top = max([n for _, _, n in states] + [1])
    states = [(value, label, n, _width_class(n, top)) for value, label, n in states]

    this_monday = (now - timedelta(days=now.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    first_week = this_monday - timedelta(weeks=WEEKS_ON_CHART - 1)
    opened = _weekly(Case.objects.all(), "created_at", first_week)
    confirmed = _weekly(Case.objects.all(), "confirmed_at", first_week)
    referred = _weekly(Case.objects.all(), "referred_at", first_week)
    weeks = [(first_week + timedelta(weeks=i)).date() for i in range(WEEKS_ON_CHART)]
    weekly = {
        "labels": [week.isoformat() for week in weeks],
        "opened": [opened.get(week, 0) for week in weeks],
        "confirmed": [confirmed.get(week, 0) for week in weeks],
        "referred": [referred.get(week, 0) for week in weeks],
    }

    deadlines = list(
        Case.objects.filter(
            state=CaseState.ACCOUNT_CLOSED,
            appeal_deadline__gte=now,
            appeal_deadline__lte=now + timedelta(days=7),
        )
        .select_related("seller", "brand", "assignee")
        .order_by("appeal_deadline", "id")[:25]
    )

    durations = [
        (referred_at - first_report).total_seconds()
        for referred_at, first_report in Case.objects.filter(referred_at__gte=now - MEDIAN_WINDOW)
        .annotate(first_report=Min("reports__created_at"))
        .filter(first_report__isnull=False)
        .values_list("referred_at", "first_report")
    ]
    median_to_referral = timedelta(seconds=statistics.median(durations)) if durations else None

    per_authority: dict[str, dict] = {}
    for code, name, status, n in (
        Referral.objects.values_list("authority__code", "authority__name", "status")
        .annotate(n=Count("id"))
        .order_by("authority__code", "status")
    ):
        entry = per_authority.setdefault(code, {"code": code, "name": name, "total": 0})
        entry[status] = n
        entry["total"] += n

    pending_appeals = Appeal.objects.filter(outcome=AppealOutcome.PENDING).count()
    failed_referrals = Referral.objects.filter(status=ReferralStatus.FAILED).count()
    return render(
        request,
        "workbench/dashboard.html",
        {
            "nav": "dashboard",
            "states": states,
            "open_count": by_state.get(CaseState.OPEN, 0),
            "weekly": weekly,
            "deadlines": deadlines,
            "median_to_referral": median_to_referral,
            "median_sample": len(durations),
            "per_authority": list(per_authority.values()),
            "referral_statuses": ReferralStatus.choices,
            "pending_appeals": pending_appeals,
            "failed_referrals": failed_referrals,
        },
    )


def _width_class(n: int, top: int) -> str:
    """A CSS width class in 5 % steps (no inline style: the CSP stays strict)."""
    step = round(20 * n / top) * 5 if top else 0
    if n and not step:
        step = 5
    return f"w-{step}"


# --- the queue -------------------------------------------------------------------------------

# A deadline that sorts after every real one: cases without a deadline come last.
_NO_DEADLINE = datetime(9999, 1, 1, tzinfo=timezone.UTC)

SORTS = {
    "priority": ("Priority, then newest", SortKey("priority", descending=True)),
    "newest": ("Newest first", SortKey("id", descending=True)),
    "oldest": ("Oldest first", SortKey("id", descending=False)),
    "deadline": ("Next deadline", SortKey("deadline_key", descending=False, is_datetime=True)),
    "updated": ("Recently updated", SortKey("updated_at", descending=True, is_datetime=True)),
}
# Priority first (ring with a closed counterfeiter 3, trusted flagger 2, accurate notifier 1),
# newest first within a priority.
DEFAULT_SORT = "priority"

QUEUE_FIELDS = (
    "id",
    "state",
    "priority",
    "safety_risk",
    "appeal_deadline",
    "created_at",
    "updated_at",
    "seller__id",
    "seller__name",
    "seller__company_name",
    "seller__country",
    "brand__id",
    "brand__name",
    "assignee__id",
    "assignee__username",
)


def queue_queryset() -> QuerySet:
    return (
        Case.objects.select_related("seller", "brand", "assignee")
        .only(*QUEUE_FIELDS)
        .annotate(
            deadline_key=Coalesce(
                "appeal_deadline", Value(_NO_DEADLINE, output_field=DateTimeField())
            )
        )
    )


@require_GET
@analyst_required
def queue(request: HttpRequest) -> HttpResponse:
    """Filter, search and sort cases; a page costs the same at row 50 and row 5 million."""
    params = _without_blanks(request.GET)
    filterset = CaseQueueFilterSet(params or None, queryset=queue_queryset(), request=request)
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    cases = filterset.qs if filterset.is_bound else filterset.queryset
    if filterset.is_bound and not filterset.is_valid():
        cases = Case.objects.none()
    page = keyset_page(
        cases,
        SORTS[sort][1],
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )

    # Counts per state under the other filters, in one query, each capped (see below).
    without_state = params.copy()
    for key in ("state", "after", "before"):
        without_state.pop(key, None)
    counts_set = CaseQueueFilterSet(
        without_state or None, queryset=Case.objects.all(), request=request
    )
    base = counts_set.qs if counts_set.is_bound and counts_set.is_valid() else Case.objects.all()
    counted = capped_state_counts(base)
    selected_states = params.getlist("state")
    state_tabs = [
        {
            "value": value,
            "label": label,
            "count": counted.get(value, 0),
            "capped": counted.get(value, 0) >= STATE_COUNT_CAP,
            "current": selected_states == [value],
        }
        for value, label in CaseState.choices
    ]
    context = {
        "nav": "queue",
        "filterset": filterset,
        "form": filterset.form,
        "page": page,
        "sort": sort,
        "sorts": [(key, label) for key, (label, _) in SORTS.items()],
        "state_tabs": state_tabs,
        "all_count": sum(counted.values()),
        "all_capped": any(tab["capped"] for tab in state_tabs),
        "no_state": not selected_states,
        "seller_filter": _seller_named(request.GET.get("seller")),
        "due_soon_at": timezone.now() + DUE_SOON,
        "brands": Brand.objects.only("id", "name").order_by("name"),
    }
    template = "workbench/_queue_results.html" if is_htmx(request) else "workbench/queue.html"
    return render(request, template, context)


# A state tab counts at most this many cases, then shows "1000+": a GROUP BY over a million
# cases read them all (~100 ms, most of the page at 1M cases, docs/performance.md); capped
# counts stop early (all states: ~5 ms at 1,000, ~24 ms at 10,000, at 1M cases).
STATE_COUNT_CAP = 1_000


def capped_state_counts(cases: QuerySet) -> dict[str, int]:
    """Cases per state, each count stopping at STATE_COUNT_CAP; one query for every state.

    One ``LIMIT``ed sub-select per state joined with UNION ALL: each stops after the cap, so
    the cost is bounded by the cap, not by the table.
    """
    parts, params = [], []
    for value in CaseState.values:
        rows = cases.filter(state=value).order_by().values("id")[:STATE_COUNT_CAP]
        sql, row_params = rows.query.sql_with_params()
        # Django's own compiled SQL with its parameters kept apart: nothing is interpolated.
        parts.append(f"SELECT %s, (SELECT COUNT(*) FROM ({sql}) AS capped)")  # noqa: S608
        params += [value, *row_params]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        return {state: n for state, n in cursor.fetchall() if n}


def _without_blanks(query: QueryDict) -> QueryDict:
    """The query without empty values: a form's "any" choice sends ``state=``, meaning no filter."""
    cleaned = QueryDict(mutable=True)
    for key in query:
        values = [value for value in query.getlist(key) if value.strip()]
        if values:
            cleaned.setlist(key, values)
    return cleaned


def _seller_named(raw: str | None) -> Seller | None:
    pk = parse_id(raw)
    if pk is None:
        return None
    return Seller.objects.filter(pk=pk).only("id", "name", "company_name").first()


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """``next`` when it is a URL on this site, else ``fallback``: a URL, never a view name (so
    redirect with ``HttpResponseRedirect``, not ``redirect``, which would look a word up)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


@require_POST
@analyst_required
def assign_to_me(request: HttpRequest, pk: int) -> HttpResponse:
    """Take a case (or give it back): the same service as the API's assignment."""
    case = get_object_or_404(Case.objects.only("id", "assignee_id"), pk=pk)
    release = request.POST.get("release") == "1" and case.assignee_id == request.user.pk
    case = assign_case(case.pk, assignee=None if release else request.user)
    if is_htmx(request):
        case = queue_queryset().get(pk=case.pk)
        return render(request, "workbench/_assignee_cell.html", {"case": case})
    messages.success(
        request, f"Case #{case.pk} released." if release else f"Case #{case.pk} assigned to you."
    )
    return HttpResponseRedirect(_safe_next(request, reverse("workbench:case", args=[case.pk])))


# --- the case page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A transition an analyst can start from the case page."""

    name: str
    label: str
    style: str
    explains: str


ACTIONS = {
    "confirm": Action(
        "confirm",
        "Confirm counterfeit",
        "btn--primary",
        "The seller's account will be closed, every active listing delisted and a statement of "
        "reasons sent. The seller may appeal within the appeal window.",
    ),
    "dismiss": Action(
        "dismiss",
        "Dismiss case",
        "",
        "No action against the seller; the brand's reports are rejected. Tick manifestly "
        "unfounded only for baseless reports: those count towards the brand's Art. 23 measures.",
    ),
    "deny_appeal": Action(
        "deny_appeal",
        "Deny appeal",
        "btn--danger",
        "The closure stands and the case is referred to the competent authorities.",
    ),
    "grant_appeal": Action(
        "grant_appeal",
        "Grant appeal",
        "",
        "The seller is reinstated and the listings this case took down are restored.",
    ),
    "reinstate_after_referral": Action(
        "reinstate_after_referral",
        "Grant late appeal (reinstate)",
        "",
        "The seller is reinstated and every authority receives a retraction of the referral.",
    ),
}
DECISIONS = {"grant_appeal", "deny_appeal", "reinstate_after_referral"}
SYSTEM_STEPS = {
    "close_account": "Account closure runs automatically after confirmation.",
    "expire_appeal_window": "The deadline sweep refers the case when the appeal window ends.",
    "refer": "Referral packets are built and dispatched automatically.",
    "file_appeal": "Only the seller can file an appeal (from the closure notice).",
}


def _case_or_404(pk: int) -> Case:
    return get_object_or_404(
        Case.objects.select_related("seller", "brand", "assignee", "confirmed_by", "opened_by"),
        pk=pk,
    )


def _actions_for(case: Case, user: object) -> tuple[list[Action], list[str], bool]:
    """The buttons this user gets now, the automatic steps pending, and whether the user is
    barred from deciding the appeal because they confirmed the case."""
    allowed = allowed_transitions(case)
    confirmer = case.confirmed_by_id is not None and case.confirmed_by_id == user.pk
    buttons = [
        ACTIONS[name]
        for name in allowed
        if name in ACTIONS and not (name in DECISIONS and confirmer)
    ]
    system = [SYSTEM_STEPS[name] for name in allowed if name in SYSTEM_STEPS]
    barred = confirmer and any(name in DECISIONS for name in allowed)
    return buttons, system, barred


def case_context(case: Case, user: object) -> dict:
    """Everything the case page shows, in a fixed number of queries."""
    listings = (
        case.listings.select_related("marketplace", "product")
        .annotate(units_sold=Coalesce(Sum("sales__units"), 0, output_field=IntegerField()))
        .order_by("id")
    )
    listings = list(listings)
    reports = list(case.reports.select_related("reporter").order_by("id"))
    evidence = list(
        Evidence.objects.filter(Q(case=case) | Q(report__case=case))
        .select_related("uploaded_by")
        .order_by("collected_at", "id")
    )
    events, broken = read_case_chain(case.pk)
    appeal = (
        Appeal.objects.filter(case=case)
        .select_related("decided_by")
        .prefetch_related(appeal_files())
        .first()
    )
    referrals = list(
        Referral.objects.filter(case=case)
        .select_related("authority")
        .annotate(attempt_count=Count("attempts"))
        .order_by("id")
    )
    buttons, system_steps, barred = _actions_for(case, user)
    # Once the case is confirmed the seller's ring is up for review: three queries whatever its
    # size, none when the seller shares no identifier.
    ring = ring_review(case) if case.state in RING_REVIEW_STATES else []
    return {
        "nav": "queue",
        "ring_review": ring,
        "ring_has_closed": any(member.closed_for_counterfeits for member in ring),
        "case": case,
        "seller": case.seller,
        "listings": listings,
        "units_total": sum(listing.units_sold for listing in listings),
        "reports": reports,
        "evidence": evidence,
        "events": events,
        "chain_broken": broken,
        "appeal": appeal,
        "referrals": referrals,
        "actions": buttons,
        "system_steps": system_steps,
        "barred_from_decision": barred,
        "inline_types": IMAGE_TYPES,
    }


@require_GET
@analyst_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_or_404(pk)
    return render(request, "workbench/case_detail.html", case_context(case, request.user))


def _run_transition(
    case: Case, name: str, *, actor: object, reason: str, manifestly_unfounded: bool = False
) -> None:
    """Call the service behind one UI action: the same functions the API calls."""
    if name == "confirm":
        confirm_case(case.pk, actor=actor, reason=reason)
    elif name == "dismiss":
        dismiss_case(case.pk, actor=actor, reason=reason, manifestly_unfounded=manifestly_unfounded)
    elif name in DECISIONS:
        # The named transition, refused unless the case's state allows it now (as in the API):
        # a grant opened before the referral went out must not become a retraction.
        decide_case_appeal(case.pk, name, actor=actor, reason=reason)
    else:  # pragma: no cover - names are checked against ACTIONS before this is called
        raise Http404


@require_http_methods(["GET", "POST"])
@analyst_required
def case_transition(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """Ask for a reason and a confirmation (GET), then run the transition (POST).

    A refusal (wrong state, missing evidence, the confirming analyst deciding the appeal) is
    shown on the form with the API's status code, and nothing changes.
    """
    action = ACTIONS.get(name)
    if action is None:
        raise Http404("No such action.")
    case = _case_or_404(pk)
    status = 200
    refusal = ""
    form_class = DismissForm if name == "dismiss" else TransitionForm
    form = form_class(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                _run_transition(
                    case,
                    name,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    manifestly_unfounded=form.cleaned_data.get("manifestly_unfounded", False),
                )
            except TransitionRefused as exc:
                refusal, status = f"Refused: {exc.why}.", 409
            except PermissionRefused as exc:
                refusal, status = f"Refused: {exc}", 403
            except ValueError as exc:
                refusal, status = f"Refused: {exc}", 400
            else:
                messages.success(request, f"Case #{case.pk}: {action.label.lower()} — done.")
                target = reverse("workbench:case", args=[case.pk])
                if is_htmx(request):
                    return HttpResponse(status=204, headers={"HX-Redirect": target})
                return HttpResponseRedirect(target)
        else:
            status = 400
    confirmer = case.confirmed_by_id is not None and case.confirmed_by_id == request.user.pk
    context = {
        "nav": "queue",
        "case": case,
        "action": action,
        "form": form,
        "refusal": refusal,
        "barred": name in DECISIONS and confirmer,
    }
    template = (
        "workbench/_transition_form.html" if is_htmx(request) else "workbench/transition_page.html"
    )
    return render(request, template, context, status=status)


@require_GET
@analyst_required
def evidence_file(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Serve an evidence file by ``serve_upload``, as every other upload is served: images
    inline with their type, everything else an attachment, ``nosniff`` and a sandboxing CSP.
    The case page shows images as thumbnails, so the browser may keep them an hour.
    """
    evidence = get_object_or_404(
        Evidence.objects.only("id", "file", "content_type", "original_name", "sha256"), pk=pk
    )
    if not evidence.file:
        raise Http404("This evidence has no file.")
    return serve_upload(
        evidence.file,
        content_type=evidence.content_type,
        original_name=evidence.original_name or f"evidence-{evidence.pk}-{evidence.sha256[:12]}",
        cache_control="private, max-age=3600",
    )


# --- sellers ---------------------------------------------------------------------------------


@require_GET
@analyst_required
def seller_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A seller's contact card, listings (with units sold), cases and account status history.

    Linked accounts come from the sellers app's network panel, loaded into the page by htmx."""
    seller = get_object_or_404(Seller, pk=pk)
    units = (
        Sale.objects.filter(listing=OuterRef("pk"))
        .order_by()
        .values("listing")
        .annotate(n=Sum("units"))
        .values("n")
    )
    listings = list(
        Listing.objects.filter(seller=seller)
        .select_related("marketplace", "product__brand")
        .annotate(units_sold=Coalesce(Subquery(units), 0))
        .order_by("-id")[:200]
    )
    cases = list(
        Case.objects.filter(seller=seller).select_related("brand", "assignee").order_by("-id")[:200]
    )
    history = list(SellerStatusChange.objects.filter(seller=seller).order_by("at", "id"))
    return render(
        request,
        "workbench/seller_detail.html",
        {
            "nav": "queue",
            "seller": seller,
            "listings": listings,
            "cases": cases,
            "history": history,
        },
    )


# --- appeals ---------------------------------------------------------------------------------

APPEAL_FILTERS = {
    "pending": ("Awaiting review", Q(outcome=AppealOutcome.PENDING)),
    "decided": ("Decided", ~Q(outcome=AppealOutcome.PENDING)),
    "all": ("All", Q()),
}


@require_GET
@analyst_required
def appeals_queue(request: HttpRequest) -> HttpResponse:
    """Appeals, oldest first; the ones this user may not decide are marked."""
    show = request.GET.get("show", "pending")
    if show not in APPEAL_FILTERS:
        show = "pending"
    files_per_appeal = (
        AppealEvidence.objects.filter(appeal=OuterRef("pk"))
        .order_by()
        .values("appeal")
        .annotate(n=Count("id"))
        .values("n")
    )
    appeals = (
        Appeal.objects.filter(APPEAL_FILTERS[show][1])
        .select_related("case", "case__seller", "case__brand", "case__confirmed_by", "decided_by")
        # A sub-select per row shown, not a GROUP BY over every appeal before the LIMIT.
        .annotate(evidence_count=Coalesce(Subquery(files_per_appeal), 0))
    )
    page = keyset_page(
        appeals,
        SortKey("id", descending=show != "pending"),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    return render(
        request,
        "workbench/appeals.html",
        {
            "nav": "appeals",
            "page": page,
            "show": show,
            "filters": [(key, label) for key, (label, _) in APPEAL_FILTERS.items()],
        },
    )


@require_http_methods(["GET", "POST"])
@analyst_required
def appeal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the seller's statement against the case, and decide (never on a case you confirmed:
    the form is absent and ``decide_appeal`` refuses a forged POST)."""
    appeal = get_object_or_404(
        Appeal.objects.select_related(
            "case", "case__seller", "case__brand", "case__confirmed_by", "decided_by"
        ).prefetch_related(appeal_files()),
        pk=pk,
    )
    case = appeal.case
    form = AppealDecisionForm(request.POST or None)
    refusal = ""
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decide_appeal(
                    appeal.pk,
                    outcome=form.cleaned_data["outcome"],
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except PermissionRefused as exc:
                refusal, status = f"Refused: {exc}", 403
            except TransitionRefused as exc:
                refusal, status = f"Refused: {exc.why}.", 409
            except ValueError as exc:
                refusal, status = f"Refused: {exc}", 400
            else:
                outcome = AppealOutcome(form.cleaned_data["outcome"]).label.lower()
                messages.success(request, f"Appeal on case #{case.pk} {outcome}.")
                return redirect("workbench:appeal", pk=appeal.pk)
        else:
            status = 400
    confirmer = case.confirmed_by_id is not None and case.confirmed_by_id == request.user.pk
    events = list(CaseEvent.objects.filter(case=case).order_by("seq").values(*EVENT_FIELDS))
    evidence = list(
        Evidence.objects.filter(Q(case=case) | Q(report__case=case)).order_by("collected_at", "id")
    )
    reports = list(case.reports.order_by("id"))
    return render(
        request,
        "workbench/appeal_detail.html",
        {
            "nav": "appeals",
            "appeal": appeal,
            "case": case,
            "seller": case.seller,
            "form": form,
            "refusal": refusal,
            "confirmer": confirmer,
            "can_decide": appeal.outcome == AppealOutcome.PENDING and not confirmer,
            "events": events,
            "evidence": evidence,
            "reports": reports,
            "inline_types": IMAGE_TYPES,
        },
        status=status,
    )


def appeal_files() -> Prefetch:
    """The seller's files of an appeal, in the order they were sent: ``appeal.evidence.all``."""
    return Prefetch("evidence", queryset=AppealEvidence.objects.order_by("uploaded_at", "id"))


@require_GET
@analyst_required
def appeal_evidence_file(request: HttpRequest, pk: int, evidence_id: int) -> HttpResponseBase:
    """One of the seller's appeal files, for the reviewers who decide it.

    The file must belong to the appeal the URL names (else 404, as for one that does not exist
    or is gone from storage). Served by ``serve_upload``, as the portal and the seller's page
    serve theirs: images inline, anything else an attachment under its original name, with the
    stored type, ``nosniff`` and a sandboxing CSP.
    """
    item = get_object_or_404(
        AppealEvidence.objects.exclude(file="").only(
            "id", "appeal_id", "file", "content_type", "original_name"
        ),
        pk=evidence_id,
        appeal_id=pk,
    )
    return serve_upload(item.file, content_type=item.content_type, original_name=item.original_name)


# --- referrals -------------------------------------------------------------------------------


@require_GET
@analyst_required
def referrals(request: HttpRequest) -> HttpResponse:
    """Per authority and status, then the referrals themselves with their delivery attempts."""
    authority = request.GET.get("authority", "")
    status = request.GET.get("status", "")
    summary: dict[str, dict] = {}
    for code, name, jurisdiction, st, n in (
        Referral.objects.values_list(
            "authority__code", "authority__name", "authority__jurisdiction", "status"
        )
        .annotate(n=Count("id"))
        .order_by()
    ):
        entry = summary.setdefault(
            code, {"code": code, "name": name, "jurisdiction": jurisdiction, "total": 0}
        )
        entry[st] = n
        entry["total"] += n
    authorities = list(Authority.objects.order_by("code").only("code", "name", "jurisdiction"))
    for item in authorities:
        summary.setdefault(
            item.code,
            {"code": item.code, "name": item.name, "jurisdiction": item.jurisdiction, "total": 0},
        )

    rows = Referral.objects.select_related("authority", "case", "case__seller").only(
        "id",
        "status",
        "created_at",
        "delivered_at",
        "acknowledged_at",
        "authority_reference",
        "retraction_failed_at",
        "seller_country",
        "brand_name",
        "authority__code",
        "authority__name",
        "case__id",
        "case__state",
        "case__seller__id",
        "case__seller__name",
        "case__seller__company_name",
    )
    if authority:
        rows = rows.filter(authority__code=authority)
    if status in ReferralStatus.values:
        rows = rows.filter(status=status)
    elif status == RETRACTION_FAILED:
        rows = rows.filter(retraction_failed_at__isnull=False)
    last_attempt = DeliveryAttempt.objects.filter(referral=OuterRef("pk")).order_by("-at", "-id")
    rows = rows.annotate(
        attempt_count=Count("attempts"),
        last_outcome=Subquery(last_attempt.values("outcome")[:1]),
        last_error=Subquery(last_attempt.values("error")[:1]),
        last_at=Subquery(last_attempt.values("at")[:1]),
    )
    page = keyset_page(
        rows,
        SortKey("id", descending=True),
        after=request.GET.get("after", ""),
        before=request.GET.get("before", ""),
        size=PAGE_SIZE,
    )
    return render(
        request,
        "workbench/referrals.html",
        {
            "nav": "referrals",
            "summary": sorted(summary.values(), key=lambda e: e["code"]),
            "statuses": ReferralStatus.choices,
            "retraction_failed": RETRACTION_FAILED,
            "page": page,
            "authority": authority,
            "status": status,
        },
    )


@require_GET
@analyst_required
def referral_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One referral: its packet digest, every delivery attempt and every pull by the authority."""
    referral = get_object_or_404(
        Referral.objects.select_related("authority", "case", "case__seller"), pk=pk
    )
    attempts = list(DeliveryAttempt.objects.filter(referral=referral).order_by("-at", "-id")[:200])
    access = list(
        AccessLogEntry.objects.filter(referral=referral)
        .select_related("client", "token", "user")
        .order_by("-at", "-id")[:200]
    )
    return render(
        request,
        "workbench/referral_detail.html",
        {"nav": "referrals", "referral": referral, "attempts": attempts, "access": access},
    )


@require_POST
@analyst_required
def referral_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a failed delivery, or a retraction whose push was given up, back in the queue (the
    same services the operator would use)."""
    referral = get_object_or_404(Referral.objects.only("id", "status"), pk=pk)
    if retry_failed_delivery(referral.pk):
        messages.success(request, f"Referral #{referral.pk}: delivery queued again.")
    elif retry_failed_retraction(referral.pk):
        messages.success(request, f"Referral #{referral.pk}: retraction queued again.")
    else:
        messages.error(
            request,
            f"Referral #{referral.pk} is {referral.get_status_display().lower()}, with nothing "
            "parked: only a failed delivery or an undelivered retraction can be retried.",
        )
    return HttpResponseRedirect(
        _safe_next(request, reverse("workbench:referral", args=[referral.pk]))
    )
