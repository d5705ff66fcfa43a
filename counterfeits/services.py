"""Case services: the only code that changes a case's state.

Each service locks the case row, checks the transition, saves, writes one hash-chained
CaseEvent in the same transaction, and queues side effects on commit.
"""

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django_fsm import can_proceed, has_transition_perm  # noqa: F401 - re-exported for views

from config.bulk import in_ids
from listings.choices import ListingStatus
from listings.models import Listing
from outbox.services import enqueue
from sellers.choices import SellerStatus
from sellers.models import Seller, SellerStatusChange

from .audit import GENESIS, event_row, insert_events, record_event
from .choices import CaseState, EvidenceKind, NoticeKind, ReportReason, ReportStatus
from .exceptions import TransitionRefused
from .intake import (
    EvidenceUpload,
    apply_misuse_measures,
    attach_evidence,
    check_evidence,
    ensure_intake_open,
    report_status_changed,
    save_received_report,
)
from .models import (
    Brand,
    BrandMembership,
    Case,
    Evidence,
    IdempotencyRecord,
    Notice,
    Report,
)
from .roles import actor_role, is_analyst
from .uploads import CheckedUpload, check_uploads

if TYPE_CHECKING:  # imported where used: referrals imports this app's models
    from referrals.packets import CaseRow
    from referrals.services import NewReferral

log = logging.getLogger(__name__)


def _locked(case_id: int) -> Case:
    return Case.objects.select_for_update().select_related("seller", "brand").get(pk=case_id)


def _why_refused(case: Case, name: str) -> str:
    if name == "confirm" and case.state == CaseState.OPEN:
        missing = []
        if not case.has_evidence():
            missing.append("at least one piece of evidence")
        if not case.has_sales():
            missing.append("a record of units sold to customers")
        if missing:
            return "confirming needs " + " and ".join(missing)
    if name == "expire_appeal_window" and case.state == CaseState.ACCOUNT_CLOSED:
        return f"the appeal window is open until {case.appeal_deadline:%Y-%m-%d %H:%M} UTC"
    if name == "refer" and case.state == CaseState.ACCOUNT_CLOSED:
        return "the appeal window is still open and the product is not a safety risk"
    return ""


def _apply(case: Case, name: str, method: Callable[..., object], **kwargs: object) -> str:
    """Run one FSM transition in memory on a locked case; refuse with a clear reason if not
    allowed. Returns the state it left."""
    if not can_proceed(method):
        raise TransitionRefused(case, name, _why_refused(case, name))
    before = case.state
    method(**kwargs)
    return before


def _run(case: Case, name: str, method: Callable[..., object], **kwargs: object) -> str:
    """Run one FSM transition on a locked case and save it; returns the state it left."""
    before = _apply(case, name, method, **kwargs)
    case.save()
    return before


def allowed_transitions(case: Case, user: AbstractBaseUser | None = None) -> list[str]:
    """Names of the transitions possible now (conditions checked), for the API and the UI.

    Appeal transitions also depend on the appeal: filing needs none yet, deciding a pending one;
    and, given ``user``, on who asks: the analyst who confirmed a case may not decide its appeal.
    """
    from appeals.models import Appeal

    names = [t.name for t in case.get_available_state_transitions()]
    appeal = Appeal.objects.filter(case_id=case.pk).values_list("outcome", flat=True).first()
    result = []
    for name in names:
        if name == "file_appeal" and appeal is not None:
            continue
        decides = ("grant_appeal", "deny_appeal", "reinstate_after_referral")
        if name in decides and appeal != "pending":
            continue
        if name in decides and user is not None and case.confirmed_by_id == user.pk:
            continue
        result.append(name)
    return result


# --- opening -------------------------------------------------------------------------------


@transaction.atomic
def open_case(*, report_ids: Iterable[int], actor: AbstractBaseUser, reason: str = "") -> Case:
    """Open a case from brand reports on one seller and brand. Their listings join the case."""
    ids = sorted(set(report_ids))
    reports = list(Report.objects.select_for_update().filter(pk__in=ids).order_by("id"))
    if not ids or len(reports) != len(ids):
        raise ValueError("Some of these reports do not exist.")
    if len({(r.seller_id, r.brand_id) for r in reports}) != 1:
        raise ValueError("Reports in one case must name the same seller and brand.")
    taken = [r.pk for r in reports if r.case_id is not None]
    if taken:
        raise ValueError(f"Reports already in a case: {taken}.")
    first = reports[0]
    listings = list(Listing.objects.filter(reports__in=reports).distinct())
    case = Case.objects.create(
        seller_id=first.seller_id,
        brand_id=first.brand_id,
        opened_by=actor,
        safety_risk=any(listing.product.safety_risk for listing in listings),
        priority=priority_for_reports(reports),
    )
    case.listings.set(listings)
    Report.objects.filter(pk__in=ids).update(
        case=case, status=ReportStatus.CASE_OPENED, updated_at=timezone.now()
    )
    report_status_changed(ids)
    record_event(case, "open", from_state="", actor=actor, reason=reason or "case opened")
    return case


@transaction.atomic
def assign_case(case_id: int, *, assignee: AbstractBaseUser | None) -> Case:
    case = _locked(case_id)
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    return case


# --- transitions ---------------------------------------------------------------------------


@transaction.atomic
def confirm_case(case_id: int, *, actor: AbstractBaseUser, reason: str) -> Case:
    """Confirm that the seller sold fakes; the account closure runs on commit."""
    case = _locked(case_id)
    before = _run(case, "confirm", case.confirm, by=actor)
    record_event(case, "confirm", from_state=before, actor=actor, reason=reason)
    enqueue("counterfeits.tasks.close_account_task", case.pk)
    from sellers.rings import bump_priority_for_ring  # a ring with a closed counterfeiter first

    bump_priority_for_ring(case)
    return case


@transaction.atomic
def dismiss_case(
    case_id: int, *, actor: AbstractBaseUser, reason: str, manifestly_unfounded: bool = False
) -> Case:
    """Dismiss an open case: no counterfeit, or not enough to act on. Its reports are rejected.

    With ``manifestly_unfounded`` the reports are rejected as such (DSA Art. 23): they count
    towards their brand's warning and suspension, as a report rejected alone does.
    """
    case = _locked(case_id)
    before = _run(case, "dismiss", case.dismiss)
    timeline_reason = f"{reason} (reports manifestly unfounded)" if manifestly_unfounded else reason
    record_event(case, "dismiss", from_state=before, actor=actor, reason=timeline_reason)
    report_ids = list(case.reports.values_list("pk", flat=True))
    Report.objects.filter(pk__in=report_ids).update(
        status=ReportStatus.REJECTED,
        outcome_reason=reason,
        manifestly_unfounded=manifestly_unfounded,
        updated_at=timezone.now(),
    )
    report_status_changed(report_ids)  # stamps decided_at, which the Art. 23 count reads
    if manifestly_unfounded:
        brand_ids = Report.objects.filter(pk__in=report_ids).values_list("brand_id", flat=True)
        for brand_id in sorted(set(brand_ids)):
            apply_misuse_measures(brand_id, actor=actor)
    return case


def set_seller_status(
    seller: Seller, status: str, *, case: Case | None, reason: str, at: object = None
) -> None:
    """Change a seller's account status and keep its history. Call in a transaction."""
    if seller.status == status:
        return
    at = at or timezone.now()
    SellerStatusChange.objects.create(
        seller=seller, from_status=seller.status, to_status=status, case=case, reason=reason, at=at
    )
    seller.status = status
    seller.closed_at = at if status == SellerStatus.CLOSED else seller.closed_at
    seller.save(update_fields=["status", "closed_at", "updated_at"])


def statement_of_reasons(case: Case, listings: list[Listing]) -> tuple[str, str]:
    """Subject and plain-text body of the DSA Art. 17 statement of reasons."""
    context = {"case": case, "seller": case.seller, "listings": listings, "site": settings.SITE_URL}
    body = render_to_string("counterfeits/email/statement_of_reasons.txt", context)
    subject = f"Your seller account was closed (case #{case.pk})"
    return subject, body


@transaction.atomic
def close_account(
    case_id: int, *, actor: AbstractBaseUser | None = None, reason: str = ""
) -> Case | None:
    """Close the seller, delist every active listing, and owe the seller a statement of reasons.

    Idempotent: a case no longer ``confirmed`` is left as it is (returns None).
    """
    case = _locked(case_id)
    if case.state != CaseState.CONFIRMED:
        return None
    before = _run(case, "close_account", case.close_account, window=settings.APPEAL_WINDOW)
    seller = Seller.objects.select_for_update().get(pk=case.seller_id)
    set_seller_status(
        seller, SellerStatus.CLOSED, case=case, reason="counterfeits confirmed", at=None
    )
    active = Listing.objects.filter(seller=seller, status=ListingStatus.ACTIVE)
    delisted = list(active.select_related("marketplace").order_by("id"))
    active.update(status=ListingStatus.DELISTED, delisted_at=timezone.now(), delisted_by_case=case)
    record_event(
        case,
        "close_account",
        from_state=before,
        actor=actor,
        reason=reason or f"account closed, {len(delisted)} listing(s) delisted",
    )
    case.reports.update(status=ReportStatus.ACTION_TAKEN, updated_at=timezone.now())
    report_status_changed(case.reports.values_list("pk", flat=True))
    subject, body = statement_of_reasons(case, delisted)
    notice, _ = Notice.objects.get_or_create(
        case=case,
        kind=NoticeKind.STATEMENT_OF_REASONS,
        defaults={
            "recipient": seller.email,
            "subject": subject,
            "body": body,
            "html_body": statement_of_reasons_html(case, delisted),
        },
    )
    enqueue("counterfeits.tasks.send_notice_task", notice.pk)
    if case.safety_risk:
        # EU DSA Art. 18: a threat to life or safety is notified at once, not after the window.
        _refer_locked(case, reason="safety risk: referred on closure")
    return case


def _refer_locked(
    case: Case,
    *,
    reason: str,
    expire: bool = False,
    actor: AbstractBaseUser | None = None,
) -> list:
    """Refer a locked case — first expiring its appeal window if it is still
    ``account_closed`` and ``expire`` — in a fixed number of queries.

    The transitions run on the model (refused with :class:`TransitionRefused` if not allowed)
    and the case is saved; :func:`_refer_rows` writes the rest (the sweep calls it for its
    batches without models). All in the caller's transaction. Returns the referrals made.
    """
    from referrals.packets import case_row

    row = case_row(case)  # the state it is in now
    if expire and case.state == CaseState.ACCOUNT_CLOSED:
        _apply(case, "expire_appeal_window", case.expire_appeal_window)
    _apply(case, "refer", case.refer)
    now = timezone.now()
    made = _refer_rows([row], expire=expire, reason=reason, actor=actor, now=now)
    case.updated_at = now
    case.save(update_fields=["state", "referred_at", "closed_at", "updated_at"])
    return [item.instance(case) for item in made.get(case.pk, [])]


def _refer_rows(
    rows: "list[CaseRow]",
    *,
    expire: bool,
    reason: str,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> "dict[int, list[NewReferral]]":
    """Write what referring these cases records, but for the cases' own rows: their events
    (``expire_appeal_window`` for a case still ``account_closed`` when ``expire``, then
    ``refer``), hash-chained from each chain's head, one signed referral per routed authority,
    and the pushes owed through the outbox. Each a statement for the batch.

    ``rows`` are ``referrals.packets.CaseRow`` of locked cases, in the state they were in
    before; the caller has checked the transitions and moves the cases to ``referred``.
    Returns the referrals made (``referrals.services.NewReferral``), by case id.
    """
    from referrals.packets import load_facts
    from referrals.services import queue_dispatch, write_referrals

    facts = load_facts(rows)
    # (id, label, role) of who acts: the system expires a window; ``actor`` refers.
    system = (None, actor_role(None), actor_role(None))
    who = system
    if actor is not None:
        who = (actor.pk, actor.get_username(), actor_role(actor))
    events: list[tuple] = []

    def add(case_id: int, transition: str, before: str, after: str, why: str, by: tuple) -> None:
        item = facts[case_id]
        event = event_row(
            case_id, item.last_seq + 1, transition, before, after,
            actor_id=by[0], actor_label=by[1], actor_role=by[2], reason=why, at=now,
            prev_hash=item.last_hash or GENESIS,
        )  # fmt: skip
        item.add(event[1], event[-1], now, transition, by[2])
        events.append(event)

    befores = {}
    for row in rows:
        before = row.state
        if expire and before == CaseState.ACCOUNT_CLOSED:
            after = CaseState.REFERRAL_PENDING
            add(row.id, "expire_appeal_window", before, after, "no appeal filed", system)
            before = after
        befores[row.id] = before
    made = write_referrals(rows, facts, now=now)
    for row in rows:
        codes = ", ".join(item.authority.code for item in made.get(row.id, []))
        why = f"{reason} ({codes or 'no authority matched'})"
        add(row.id, "refer", befores[row.id], CaseState.REFERRED, why, who)
    insert_events(events)
    queue_dispatch([item for items in made.values() for item in items])
    return made


@transaction.atomic
def refer_case(case_id: int, *, reason: str = "referral packets built") -> list:
    """Build and sign a packet per routed authority and queue their delivery. Idempotent."""
    case = _locked(case_id)
    if not can_proceed(case.refer):
        return []
    return _refer_locked(case, reason=reason)


@transaction.atomic
def expire_appeal_window(case_id: int) -> Case | None:
    """The window ran out with no appeal: refer the case (the sweep does this in batches)."""
    case = _locked(case_id)
    if case.state != CaseState.ACCOUNT_CLOSED or not case.window_expired():
        return None
    _refer_locked(case, expire=True, reason="appeal window expired")
    return case


def sweep_deadlines(
    *,
    batch_size: int | None = None,
    max_batches: int = 1000,
    on_backlog: Callable[[], object] | None = None,
) -> int:
    """Expire due appeal windows and refer the cases; return how many cases were referred.

    Each batch claims due cases with ``SELECT … FOR UPDATE SKIP LOCKED`` so that two sweepers
    never take the same case; each batch is one transaction with a fixed number of queries.
    Cases in ``referral_pending`` are referred too, so a referral never waits on a task alone.
    ``on_backlog`` is called once, after the first batch, if it was full (more may be due):
    the moment to start other sweepers beside this one.
    """
    batch_size = batch_size or settings.SWEEP_BATCH_SIZE
    done = 0
    for _ in range(max_batches):
        with transaction.atomic():
            rows = _claim_due(batch_size)
            if rows:
                _sweep_batch(rows)
            done += len(rows)
        if len(rows) < batch_size:
            break
        if on_backlog is not None:
            on_backlog()
            on_backlog = None
    return done


def _sweep_batch(rows: "list[CaseRow]") -> None:
    """Refer a batch of claimed cases (``referrals.packets.CaseRow``), as :func:`_refer_locked`
    does for one model but without models: the claim's conditions are the transitions' (the window
    ran out; ``refer`` from ``referral_pending``), so every case ends ``referred``, with the
    fields ``Case.refer`` sets, in one ``UPDATE``."""
    now = timezone.now()
    _refer_rows(rows, expire=True, reason="appeal window expired", actor=None, now=now)
    Case.objects.filter(pk__in=in_ids(row.id for row in rows)).update(
        state=CaseState.REFERRED, referred_at=now, closed_at=now, updated_at=now
    )


def _claim_due(limit: int) -> "list[CaseRow]":
    """Lock up to ``limit`` cases due for referral, skipping those another sweeper holds;
    return them as ``referrals.packets.CaseRow`` (with their seller and brand, one query).

    Two queries, each served by its own partial index (an OR of both would scan the table).
    Due cases come in deadline order; among equal deadlines in the index's order (no sort on
    ``id``: the sort would read every due case on each claim).
    """
    from referrals.packets import CASE_ROW_FIELDS, CaseRow

    claim = Case.objects.select_for_update(skip_locked=True, of=("self",)).values_list(
        *CASE_ROW_FIELDS
    )
    rows = list(
        claim.filter(state=CaseState.ACCOUNT_CLOSED, appeal_deadline__lte=timezone.now()).order_by(
            "appeal_deadline"
        )[:limit]
    )
    if len(rows) < limit:
        rows += list(
            claim.filter(state=CaseState.REFERRAL_PENDING).order_by("id")[: limit - len(rows)]
        )
    return [CaseRow._make(row) for row in rows]


# The states in which a case keeps its seller's account closed.
HOLDS_ACCOUNT_CLOSED = (
    CaseState.ACCOUNT_CLOSED,
    CaseState.APPEAL_REVIEW,
    CaseState.REFERRAL_PENDING,
    CaseState.REFERRED,
)


def case_keeping_account_closed(case: Case) -> Case | None:
    """Another case of the seller that keeps the account closed (the oldest), or None."""
    return (
        Case.objects.filter(seller_id=case.seller_id, state__in=HOLDS_ACCOUNT_CLOSED)
        .exclude(pk=case.pk)
        .order_by("account_closed_at", "id")
        .first()
    )


def reinstate_seller(case: Case, *, reason: str) -> Case | None:
    """Reopen the seller's account and restore the listings this case took down.

    Unless another case of the seller still keeps the account closed: then the account stays
    closed and that case takes over the listings this one delisted (the first closure delisted
    them all, so the later one found none), to restore them if it is reinstated in turn.
    Returns that other case, or None when the account was reopened.
    """
    seller = Seller.objects.select_for_update().get(pk=case.seller_id)
    delisted = Listing.objects.filter(delisted_by_case=case, status=ListingStatus.DELISTED)
    holder = case_keeping_account_closed(case)
    if holder is not None:
        delisted.update(delisted_by_case=holder)
        return holder
    set_seller_status(seller, SellerStatus.REINSTATED, case=case, reason=reason)
    delisted.update(status=ListingStatus.ACTIVE, delisted_at=None, delisted_by_case=None)
    return None


# --- brand reports -------------------------------------------------------------------------


def reports_visible_to(user: AbstractBaseUser) -> QuerySet[Report]:
    """The reports a user may see: analysts all; a brand owner those of their brands, except
    ring-detection alerts — the analysts' lead, naming a seller who only shares an identifier
    with a counterfeiter and may be innocent. Anything else is a 404 to them, never a 403."""
    if is_analyst(user):
        return Report.objects.all()
    return Report.objects.filter(brand__memberships__user=user).exclude(
        reason=ReportReason.LINKED_TO_CLOSED_SELLER
    )


def file_report(
    *,
    brand: Brand,
    reporter: AbstractBaseUser,
    reason: str,
    explanation: str,
    notifier_name: str,
    notifier_email: str,
    good_faith: bool,
    seller: Seller | None = None,
    listing_ids: Iterable[int] = (),
    evidence: Sequence[EvidenceUpload] = (),
    membership_checked: bool = False,
) -> Report:
    """File a brand owner's notice (EU DSA Art. 16) against one seller.

    The seller is named directly or derived from the listings, which must all be that one
    seller's. A brand owner files only for brands they belong to; analysts for any brand.
    ``membership_checked`` says the caller loaded ``brand`` through the reporter's own
    memberships (``counterfeits.filtersets.brands_for``, as the API does), so it is not asked
    again. Raises ``django.core.exceptions.ValidationError`` with field errors and creates
    nothing.
    """
    errors: dict[str, list[str]] = {}
    if (
        not membership_checked
        and not is_analyst(reporter)
        and not BrandMembership.objects.filter(brand=brand, user=reporter).exists()
    ):
        errors["brand"] = ["You can only report for brands you belong to."]
    ids = sorted(set(listing_ids))
    # No ids, no query (the ORM would compile one only to find it empty).
    listings = list(Listing.objects.filter(pk__in=ids).order_by("id")) if ids else []
    listing_sellers = {listing.seller_id for listing in listings}
    if len(listings) != len(ids):
        missing = sorted(set(ids) - {listing.pk for listing in listings})
        errors["listings"] = [f"These listings do not exist: {missing}."]
    elif len(listing_sellers) > 1:
        errors["listings"] = ["All listings of one report must belong to one seller."]
    elif seller is not None and listings and listing_sellers != {seller.pk}:
        errors["listings"] = ["These listings belong to another seller than the one named."]
    if seller is None and not ids:
        errors["seller"] = ["Name the seller or at least one of their listings."]
    if reason not in ReportReason.values:
        errors["reason"] = [f"Choose one of: {', '.join(ReportReason.values)}."]
    if not explanation.strip():
        errors["explanation"] = ["Explain why these listings infringe."]
    if not notifier_name.strip():
        errors["notifier_name"] = ["Give the name of the person filing."]
    if not notifier_email.strip():
        errors["notifier_email"] = ["Give an e-mail address to reach the person filing."]
    if not good_faith:
        # DSA Art. 16(2)(d): the notice must state the notifier's good-faith belief.
        errors["good_faith"] = ["Confirm that you file this report in good faith."]
    try:
        checked_evidence = check_evidence(evidence)  # size cap, type by content; nothing stored
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    ensure_intake_open(brand)  # DSA Art. 23: IntakeSuspended while the brand is suspended
    named = {"seller": seller} if seller is not None else {"seller_id": listings[0].seller_id}
    report = Report(
        brand=brand,
        reporter=reporter,
        **named,
        reason=reason,
        explanation=explanation,
        notifier_name=notifier_name,
        notifier_email=notifier_email,
        good_faith=True,
    )
    # The report, its listings and the notifier's "received" e-mail (owed through the outbox)
    # are written together; evidence files join them in one transaction. Without evidence
    # that is one statement on PostgreSQL, which needs no transaction of its own.
    with transaction.atomic() if checked_evidence else nullcontext():
        save_received_report(report, listings)
        stored = attach_evidence(report, checked_evidence, uploaded_by=reporter)
    # The report's listings and evidence are exactly what was just written: hand them over as
    # Django's prefetch would, so the caller's serializer does not read them back.
    _as_prefetched(report, "listings", listings)
    _as_prefetched(report, "evidence", sorted(stored, key=lambda item: item.pk))
    return report


def _as_prefetched(instance: Report, relation: str, objects: list) -> None:
    """Fill ``instance.<relation>.all()`` with ``objects``, as ``prefetch_related`` does."""
    rows = getattr(instance, relation).all()
    rows._result_cache = list(objects)
    rows._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[relation] = rows


# --- transitions by name (the API's and the UI's entry point) ------------------------------


def refusal(case_id: int, name: str) -> TransitionRefused:
    """The refusal of ``name`` for the case as it is now, with a reason a person can act on."""
    case = Case.objects.get(pk=case_id)
    return TransitionRefused(case, name, _why_refused(case, name))


@transaction.atomic
def refer_case_now(case_id: int, *, reason: str, actor: AbstractBaseUser | None = None) -> list:
    """An analyst's ``refer``: as ``refer_case``, but refused when the case may not be referred."""
    case = _locked(case_id)
    if not can_proceed(case.refer):
        raise TransitionRefused(case, "refer", _why_refused(case, "refer"))
    return _refer_locked(case, reason=reason, actor=actor)


# Transitions a person decides: their reason goes on the timeline and must not be blank.
DECISIONS_NEEDING_REASON = frozenset(
    {"confirm", "dismiss", "grant_appeal", "deny_appeal", "refer", "reinstate_after_referral"}
)


def run_transition(
    case_id: int,
    name: str,
    *,
    actor: AbstractBaseUser,
    reason: str = "",
    statement: str = "",
    manifestly_unfounded: bool = False,
) -> None:
    """Run one transition of DESIGN.md by its name, as an analyst asked for it.

    ``manifestly_unfounded`` is for ``dismiss`` only (see :func:`dismiss_case`).
    Raises ``TransitionRefused`` when it is not allowed now, ``PermissionRefused`` when this
    actor may not, ``ValueError`` on missing input. Each service runs in its own transaction,
    so a refusal leaves the case, its timeline and its appeal as they were.
    """
    from appeals.services import decide_case_appeal, file_appeal

    if name in DECISIONS_NEEDING_REASON and not reason.strip():
        raise ValueError(f"'{name}' needs a reason: it goes on the case's timeline.")
    if manifestly_unfounded and name != "dismiss":
        raise ValueError("Only a dismissal can find the reports manifestly unfounded.")
    if name == "confirm":
        confirm_case(case_id, actor=actor, reason=reason)
    elif name == "dismiss":
        dismiss_case(case_id, actor=actor, reason=reason, manifestly_unfounded=manifestly_unfounded)
    elif name == "close_account":
        # Normally the task queued by confirm does this; run by hand it is the same service.
        if close_account(case_id, actor=actor, reason=reason) is None:
            raise refusal(case_id, name)
    elif name == "expire_appeal_window":
        if expire_appeal_window(case_id) is None:
            raise refusal(case_id, name)
    elif name == "refer":
        refer_case_now(case_id, reason=reason, actor=actor)
    elif name == "file_appeal":
        # An analyst files on the seller's behalf (a complaint that came by mail or phone).
        file_appeal(case_id, statement=statement)
    elif name in ("grant_appeal", "deny_appeal", "reinstate_after_referral"):
        decide_case_appeal(case_id, name, actor=actor, reason=reason)
    else:
        raise ValueError(f"Unknown transition {name!r}.")


# --- building the case: evidence and listings an analyst adds --------------------------------

# Cap on files added at once, as for a report: a test buy's photos and documents.
MAX_CASE_EVIDENCE_FILES = 20


def _ensure_open(case: Case, action: str, what: str) -> None:
    """Refuse (409) changing what a case is decided on once it is no longer open: a
    confirmation, a closure notice and a referral packet were made from the case as it was."""
    if case.state != CaseState.OPEN:
        raise TransitionRefused(
            case,
            action,
            f"{what} can be added only while the case is open; it is "
            f"{case.get_state_display().lower()}",
        )


@transaction.atomic
def add_case_evidence(
    case_id: int,
    *,
    actor: AbstractBaseUser,
    uploads: Sequence[UploadedFile],
    kind: str,
    description: str,
) -> list[Evidence]:
    """Add an analyst's evidence files (a test buy, a lab report) to an open case.

    Every file is checked as a notifier's is (size cap, type decided by its content) before
    anything is stored; each is stored under the SHA-256 of its content with ``uploaded_by``.
    A file whose content is already evidence of the case is not stored twice, so a retried
    upload adds nothing. No CaseEvent is written: the hash-chained timeline holds the
    lifecycle's transitions only, and the evidence row keeps who added it and when.

    Raises ``ValidationError`` (fields ``files``, ``kind``, ``description``) and
    ``TransitionRefused`` when the case is no longer open; either way nothing is stored.
    Returns the evidence stored.
    """
    files = list(uploads)
    errors: dict[str, list[str]] = {}
    if not files:
        errors["files"] = ["Choose at least one file."]
    elif len(files) > MAX_CASE_EVIDENCE_FILES:
        errors["files"] = [f"Add at most {MAX_CASE_EVIDENCE_FILES} files at once."]
    if kind not in EvidenceKind.values:
        errors["kind"] = [f"Choose one of: {', '.join(EvidenceKind.values)}."]
    if not description.strip():
        errors["description"] = ["Describe what the files show: the authorities read it."]
    if "files" not in errors:
        try:
            checked = check_uploads(files, field="files")  # size cap, type by content
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    case = _locked(case_id)
    _ensure_open(case, "add_evidence", "evidence")
    held = set(
        Evidence.objects.filter(Q(case=case) | Q(report__case=case)).values_list(
            "sha256", flat=True
        )
    )
    new: list[tuple[EvidenceUpload, CheckedUpload]] = []
    for upload, ok in zip(files, checked, strict=True):
        if ok.sha256 not in held:
            held.add(ok.sha256)
            new.append((EvidenceUpload(upload, kind, description.strip()), ok))
    stored = attach_evidence(case, new, uploaded_by=actor)
    if stored:
        case.save(update_fields=["updated_at"])
    return stored


@transaction.atomic
def add_case_listings(
    case_id: int, *, actor: AbstractBaseUser, listing_ids: Iterable[int]
) -> list[Listing]:
    """Add listings of the case's seller, of the case's brand, to an open case.

    A case opened from the ring network has none: this is how its investigation gathers the
    listings (and through them the sales) that confirming needs. A listing already on the case
    is left as it is. A listing of a product that threatens life or safety makes the case a
    safety-risk case, as it would have had it been reported (referred on closure).

    Raises ``ValidationError`` on ``listing_ids`` (none given, unknown, another seller's or
    another brand's) and ``TransitionRefused`` when the case is no longer open; either way
    nothing changes. Returns the listings added. No CaseEvent is written (see
    :func:`add_case_evidence`).
    """
    ids = sorted(set(listing_ids))
    if not ids:
        raise ValidationError({"listing_ids": ["Choose at least one listing."]})
    case = _locked(case_id)
    _ensure_open(case, "add_listings", "listings")
    listings = list(Listing.objects.filter(pk__in=ids).select_related("product").order_by("id"))
    problems = []
    missing = sorted(set(ids) - {listing.pk for listing in listings})
    if missing:
        problems.append(f"These listings do not exist: {missing}.")
    others = [listing.pk for listing in listings if listing.seller_id != case.seller_id]
    if others:
        problems.append(f"These listings belong to another seller than the case's: {others}.")
    brands = [
        listing.pk
        for listing in listings
        if listing.seller_id == case.seller_id and listing.product.brand_id != case.brand_id
    ]
    if brands:
        problems.append(f"These listings are of another brand than {case.brand.name}: {brands}.")
    if problems:
        raise ValidationError({"listing_ids": problems})
    present = set(case.listings.filter(pk__in=ids).values_list("pk", flat=True))
    added = [listing for listing in listings if listing.pk not in present]
    Case.listings.through.objects.bulk_create(
        [Case.listings.through(case=case, listing=listing) for listing in added]
    )
    fields = ["updated_at"]
    if not case.safety_risk and any(listing.product.safety_risk for listing in added):
        case.safety_risk = True
        fields.append("safety_risk")
    if added:
        case.save(update_fields=fields)
        log.info("case %s: %s added listings %s", case.pk, actor, [listing.pk for listing in added])
    return added


# --- notifier quality and the seller's statement (portal) ----------------------------------


def priority_for_reports(reports: Iterable[Report]) -> int:
    """The queue priority a case opened from these reports gets: the best any of their brands
    earned (trusted flagger 2, verified brand with >= 90% acceptance 1, else 0)."""
    from .intake import brand_priority

    brands = {report.brand_id: report for report in reports}
    found = Brand.objects.filter(pk__in=brands)
    return max((brand_priority(brand) for brand in found), default=0)


def statement_of_reasons_html(case: Case, listings: list[Listing]) -> str:
    """The HTML part of the DSA Art. 17 statement of reasons (the text part's twin)."""
    context = {"case": case, "seller": case.seller, "listings": listings, "site": settings.SITE_URL}
    return render_to_string("counterfeits/email/statement_of_reasons.html", context)


# --- housekeeping --------------------------------------------------------------------------


def purge_idempotency_records(
    *, older_than: timedelta | None = None, batch_size: int = 5000
) -> int:
    """Delete ``Idempotency-Key`` records older than ``IDEMPOTENCY_TTL``; return how many.

    A key is honoured for the TTL only (as at Stripe: a client retries within hours, not
    weeks); after that the same key is treated as new. Deleted in batches of ``batch_size``
    rows, each its own short statement, so a large backlog never holds a long lock.
    """
    cutoff = timezone.now() - (older_than if older_than is not None else settings.IDEMPOTENCY_TTL)
    expired = IdempotencyRecord.objects.filter(created_at__lt=cutoff)
    deleted = 0
    while True:
        ids = list(expired.order_by("created_at", "id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return deleted
        count, _ = IdempotencyRecord.objects.filter(pk__in=ids).delete()
        deleted += count
        if len(ids) < batch_size:
            return deleted
