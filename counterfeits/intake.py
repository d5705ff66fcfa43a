"""The notifier side of reports: intake checks, evidence, status notices, notifier quality.

- Intake is refused while a brand's intake is suspended (DSA Art. 23), with a clear message.
- Evidence files are checked (size, type by content) before anything is stored.
- Every status a report reaches owes its notifier one e-mail (a Notice keyed by report and
  status, sent on commit, so a repeated call owes nothing new).
- Each brand's acceptance rate over the look-back decides the priority lane; a brand that keeps
  filing manifestly unfounded reports is warned, then suspended for a set period.

``counterfeits.services.file_report`` and the case services call into here; views call the
services.
"""

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, Exists, Field, Model, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from config.bulk import insert_values
from config.rows import Reader, columns_of, execute_prepared, instance, reader, split_row
from listings.models import Listing
from outbox.models import OutboxMessage
from outbox.services import enqueue, publish_on_commit
from sellers.models import Seller

from .choices import EvidenceKind, IntakeMeasureKind, NoticeKind, ReportStatus
from .models import Brand, BrandMembership, Case, Evidence, IntakeMeasure, Notice, Report
from .roles import is_analyst
from .uploads import CheckedUpload, check_uploads

FINAL_STATUSES = (ReportStatus.ACTION_TAKEN, ReportStatus.REJECTED)
# Project Zero's bar: a verified brand whose reports are right this often skips the queue.
PRIORITY_ACCEPTANCE_RATE = 0.9
# Below this many decided reports a rate says little: no priority on one lucky report.
PRIORITY_MIN_DECIDED = 5
PRIORITY_TRUSTED_FLAGGER = 2
PRIORITY_ACCURATE_NOTIFIER = 1
# The task that sends a notice (queued through the outbox).
NOTICE_TASK = "counterfeits.tasks.send_notice_task"


class IntakeSuspended(Exception):
    """The brand's report intake is suspended (DSA Art. 23): nothing is filed."""

    def __init__(self, brand: Brand, measure: IntakeMeasure) -> None:
        self.brand_id = brand.pk
        self.until = measure.ends_at
        self.reason = measure.reason
        self.message = (
            f"Report intake for {brand.name} is suspended until "
            f"{measure.ends_at:%Y-%m-%d %H:%M} UTC (EU DSA Art. 23): {measure.reason}"
        )
        super().__init__(self.message)


class ReportRefused(Exception):
    """A report action not possible in the report's current status."""


# --- intake --------------------------------------------------------------------------------


def _suspensions_in_force(now: datetime) -> QuerySet[IntakeMeasure]:
    return IntakeMeasure.objects.filter(
        kind=IntakeMeasureKind.SUSPENSION, starts_at__lte=now, ends_at__gt=now
    )


def suspension_in_force(brand: Brand, *, now: datetime | None = None) -> IntakeMeasure | None:
    """The suspension of the brand's intake in force now, if any."""
    now = now or timezone.now()
    return _suspensions_in_force(now).filter(brand=brand).order_by("-ends_at").first()


def with_intake_state(brands: QuerySet[Brand]) -> QuerySet[Brand]:
    """Annotate ``intake_suspended``: whether a suspension is in force now (same query)."""
    in_force = _suspensions_in_force(timezone.now()).filter(brand=OuterRef("pk"))
    return brands.annotate(intake_suspended=Exists(in_force))


def intake_brand_and_seller(
    user: AbstractBaseUser, brand_id: int, seller_id: int | None
) -> tuple[Brand, Seller | None] | None:
    """The brand ``user`` may report for, with its Art. 23 state, and the seller named, in one
    statement; None when either is not found.

    The brand is ``with_intake_state(brands_for(request)).get(pk=brand_id)`` (an analyst's any
    brand, a brand owner's only their own), the seller ``Seller.objects.get(pk=seller_id)``:
    the report intake's hot path reads both at once, written out (the ORM's compile of the
    annotated lookup cost more than the round trip).
    """
    if not user.is_authenticated:
        return None
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    analyst = is_analyst(user)
    params: list[object] = [IntakeMeasureKind.SUSPENSION, now, now, seller_id, brand_id]
    if not analyst:
        params.append(user.pk)
    with connection.cursor() as cursor:
        execute_prepared(cursor, _intake_sql(connection.vendor, members_only=not analyst), params)
        row = cursor.fetchone()
    if row is None:
        return None
    brand_reader, seller_reader = _intake_readers(connection.vendor)
    (brand_row, seller_row), (suspended,) = split_row([brand_reader, seller_reader], row)
    seller = None
    if seller_id is not None:
        if seller_row[0] is None:
            return None
        seller = instance(seller_reader, seller_row)
    brand = instance(brand_reader, brand_row)
    brand.intake_suspended = bool(suspended)
    return brand, seller


@cache
def _intake_sql(vendor: str, *, members_only: bool) -> str:
    quote = connection.ops.quote_name

    def table(model: type[Model]) -> str:
        return quote(model._meta.db_table)

    pk = quote("id")
    measure = IntakeMeasure._meta
    membership = BrandMembership._meta
    brand_of_measure = quote(measure.get_field("brand").column)
    suspended = (
        f"EXISTS (SELECT 1 FROM {table(IntakeMeasure)} m "  # noqa: S608 - model names only
        f"WHERE m.{brand_of_measure} = b.{pk} AND m.{quote(measure.get_field('kind').column)} = %s "
        f"AND m.{quote(measure.get_field('starts_at').column)} <= %s "
        f"AND m.{quote(measure.get_field('ends_at').column)} > %s)"
    )
    columns = [*columns_of(Brand, "b"), *columns_of(Seller, "s"), suspended]
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(Brand)} b "  # noqa: S608 - model names only
        f"LEFT JOIN {table(Seller)} s ON s.{pk} = %s WHERE b.{pk} = %s"
    )
    if members_only:
        sql += (
            f" AND EXISTS (SELECT 1 FROM {table(BrandMembership)} bm "  # noqa: S608 - model names only
            f"WHERE bm.{quote(membership.get_field('brand').column)} = b.{pk} "
            f"AND bm.{quote(membership.get_field('user').column)} = %s)"
        )
    return sql


@cache
def _intake_readers(vendor: str) -> list[Reader]:
    return [reader(Brand), reader(Seller)]


def ensure_intake_open(brand: Brand) -> None:
    """Raise ``IntakeSuspended`` while the brand's intake is suspended.

    A brand read just now through ``with_intake_state`` and found open is not asked again.
    """
    if getattr(brand, "intake_suspended", None) is False:
        return
    measure = suspension_in_force(brand)
    if measure is not None:
        raise IntakeSuspended(brand, measure)


@dataclass(frozen=True)
class EvidenceUpload:
    """One evidence file as a notifier sends it: the file, what it is, a description."""

    file: UploadedFile
    kind: str = EvidenceKind.PHOTO
    description: str = ""


def check_evidence(uploads: Sequence[EvidenceUpload]) -> list[tuple[EvidenceUpload, CheckedUpload]]:
    """Check every evidence file before anything is stored (ValidationError on ``evidence``)."""
    kinds = [u.kind for u in uploads if u.kind not in EvidenceKind.values]
    if kinds:
        raise ValidationError({"evidence": [f"Unknown evidence kind: {kinds[0]!r}."]})
    checked = check_uploads([u.file for u in uploads], field="evidence")
    return list(zip(uploads, checked, strict=True))


def attach_evidence(
    owner: Report | Case,
    checked: Iterable[tuple[EvidenceUpload, CheckedUpload]],
    *,
    uploaded_by: AbstractBaseUser | None,
) -> list[Evidence]:
    """Store checked evidence files under their digest names, on a report (the notifier's) or
    on a case (an analyst's)."""
    owned_by = {"case": owner} if isinstance(owner, Case) else {"report": owner}
    stored = []
    for upload, ok in checked:
        evidence = Evidence(
            **owned_by,
            kind=upload.kind,
            description=upload.description.strip() or ok.original_name,
            original_name=ok.original_name,
            content_type=ok.content_type,
            size=ok.size,
            sha256=ok.sha256,
            uploaded_by=uploaded_by,
        )
        evidence.file.save(ok.sha256, ok.as_file(), save=False)
        evidence.save()
        stored.append(evidence)
    return stored


def resolve_listings(references: Iterable[str]) -> tuple[list[int], list[str]]:
    """Listing ids for pasted references (marketplace URLs or listing external ids).

    Returns the ids found and the references that match no listing.
    """
    refs = [r.strip() for r in references if r and r.strip()]
    if not refs:
        return [], []
    wanted = {r.rstrip("/") for r in refs}
    urls = wanted | {r + "/" for r in wanted}
    found = Listing.objects.filter(Q(external_id__in=wanted) | Q(url__in=urls)).values_list(
        "pk", "external_id", "url"
    )
    ids: set[int] = set()
    matched: set[str] = set()
    for pk, external_id, url in found:
        ids.add(pk)
        matched.add(external_id)
        matched.add((url or "").rstrip("/"))
    missing = [r for r in refs if r.rstrip("/") not in matched]
    return sorted(ids), missing


# --- report status and its notices ---------------------------------------------------------


def _notice_key_and_subject(report: Report, report_id: object) -> tuple[str, str]:
    """The dedupe key and the subject of the notice about the report's status now.

    ``report_id`` is the report's id, or a stand-in for it in a statement that inserts the
    report and its notice at once (``save_received_report``).
    """
    status = report.status_label.lower()
    return (
        f"report:{report_id}:{report.status}",
        f"Report #{report_id} ({report.brand.name}): {status}",
    )


def _status_notice(report: Report, now: datetime, *, render: bool = True) -> Notice:
    """The e-mail a report's notifier is owed for the status the report has now.

    ``render=False`` leaves the content to ``render_owed_notice`` when the notice is sent.
    """
    dedupe_key, subject = _notice_key_and_subject(report, report.pk)
    notice = Notice(
        report=report,
        brand=report.brand,
        kind=NoticeKind.REPORT_STATUS,
        dedupe_key=dedupe_key,
        recipient=report.notifier_email,
        subject=subject,
        created_at=now,
    )
    if render:
        _render_status_notice(notice, report)
    return notice


def _render_status_notice(notice: Notice, report: Report) -> None:
    # The templates add "/portal/...": a SITE_URL written with a trailing slash made "//portal",
    # a path no page answers (appeals.links.appeal_url trims it the same way).
    context = {"report": report, "brand": report.brand, "site": settings.SITE_URL.rstrip("/")}
    notice.body = render_to_string("portal/email/report_status.txt", context)
    notice.html_body = render_to_string("portal/email/report_status.html", context)


def render_owed_notice(notice: Notice) -> Notice:
    """Write the content of a notice queued without it (a report's "received" e-mail) and
    return the notice as stored: what is sent is what the notice records.

    It is rendered for the status the notice is about (its key), whatever the report's status
    is by now; only that notice is queued unrendered, and its text shows nothing else that
    changes. Two workers racing store one content: the first write wins, the other reads it.
    """
    if notice.body:
        return notice
    if notice.kind != NoticeKind.REPORT_STATUS or notice.report_id is None:
        raise ValueError(f"Notice #{notice.pk} has no content and none can be rendered.")
    report = Report.objects.select_related("brand").get(pk=notice.report_id)
    report.status = notice.dedupe_key.rsplit(":", 1)[1]
    _render_status_notice(notice, report)
    stored = Notice.objects.filter(pk=notice.pk, body="").update(
        body=notice.body, html_body=notice.html_body
    )
    return notice if stored else Notice.objects.get(pk=notice.pk)


def report_status_changed(report_ids: Iterable[int]) -> int:
    """Record that these reports reached their current status: stamp ``decided_at`` on a final
    one and owe the notifier one e-mail about it (sent on commit). Safe to call twice.

    Returns how many new notices were queued.
    """
    ids = list(report_ids)
    if not ids:
        return 0
    now = timezone.now()
    Report.objects.filter(pk__in=ids, status__in=FINAL_STATUSES, decided_at__isnull=True).update(
        decided_at=now
    )
    reports = list(Report.objects.filter(pk__in=ids).select_related("brand", "case"))
    notices = [_status_notice(report, now) for report in reports]
    Notice.objects.bulk_create(notices, ignore_conflicts=True)
    owed = Notice.objects.filter(
        dedupe_key__in=[n.dedupe_key for n in notices], sent_at__isnull=True, created_at=now
    ).values_list("pk", flat=True)
    queued = 0
    for notice_id in owed:
        enqueue(NOTICE_TASK, notice_id)
        queued += 1
    return queued


def save_received_report(report: Report, listings: Sequence[Listing] = ()) -> Notice:
    """Insert a report filed just now with its listings, and owe its notifier the "received"
    e-mail: the notice (its text rendered by the worker that sends it, ``render_owed_notice``)
    and the outbox message that sends it, published on commit.

    These are the rows every filed report writes, all or none: on PostgreSQL one statement,
    atomic by itself (no BEGIN and COMMIT round trips outside a transaction); elsewhere the
    same rows by the ORM in a transaction. ``report`` is unsaved and gets its id.
    """
    if report.status != ReportStatus.RECEIVED:
        raise ValueError(f"Report #{report.pk} is {report.status}, not received.")
    if connection.vendor == "postgresql":
        return _save_received_report_in_one_statement(report, listings)
    return _save_received_report_by_orm(report, listings)


def _save_received_report_by_orm(report: Report, listings: Sequence[Listing]) -> Notice:
    with transaction.atomic():
        report.save(force_insert=True)
        if listings:
            # A new report links nothing yet: one insert, not set()'s read-compare-write.
            Report.listings.through.objects.bulk_create(
                [Report.listings.through(report=report, listing=listing) for listing in listings]
            )
        notice = _status_notice(report, timezone.now(), render=False)
        notice.save(force_insert=True)
        enqueue(NOTICE_TASK, notice.pk)
    return notice


# Stands for the report's id in the notice's key and subject until the statement knows it: no
# text column can hold NUL, so it cannot come from a brand's name.
_REPORT_ID = "\x00"


def _save_received_report_in_one_statement(report: Report, listings: Sequence[Listing]) -> Notice:
    sql, report_fields, notice_fields, message_fields = _received_report_sql()
    notice = _status_notice(report, timezone.now(), render=False)
    message = OutboxMessage(task=NOTICE_TASK)
    key, subject = _notice_key_and_subject(report, _REPORT_ID)
    texts = {"dedupe_key": key, "subject": subject}
    notice_params: list[object] = []
    for field, value in zip(notice_fields, insert_values(notice, notice_fields), strict=True):
        if field.attname in texts:
            before, after = texts[field.attname].split(_REPORT_ID)  # around the report's id
            notice_params += [before, after]
        elif field.attname != "report_id":
            notice_params.append(value)
    message_params = [
        value
        for field, value in zip(message_fields, insert_values(message, message_fields), strict=True)
        if field.attname != "args"
    ]
    params = [
        *insert_values(report, report_fields),
        [listing.pk for listing in listings],
        *notice_params,
        *message_params,
    ]
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        report.pk, notice.pk, message.pk = cursor.fetchone()
    for row in (report, notice, message):
        row._state.adding = False
        row._state.db = connection.alias
    notice.report = report
    notice.dedupe_key, notice.subject = _notice_key_and_subject(report, report.pk)
    message.args = [notice.pk]
    publish_on_commit([message.pk])
    return notice


@cache
def _received_report_sql() -> tuple[str, list[Field], list[Field], list[Field]]:
    """The report, its listings, its notice and the notice's outbox message: one ``INSERT`` each,
    chained in one statement, each row taking the id of the one before from its ``RETURNING``."""
    quote = connection.ops.quote_name

    def inserted(model: type[Model]) -> list[Field]:
        return [field for field in model._meta.concrete_fields if not field.primary_key]

    def insert(model: type[Model], fields: list[Field]) -> str:
        columns = ", ".join(quote(field.column) for field in fields)
        return f"INSERT INTO {quote(model._meta.db_table)} ({columns})"

    def values(fields: list[Field], computed: dict[str, str]) -> str:
        return ", ".join(computed.get(field.attname, "%s") for field in fields)

    report_fields, notice_fields = inserted(Report), inserted(Notice)
    message_fields = inserted(OutboxMessage)
    through = Report.listings.through
    linked = [through._meta.get_field("report"), through._meta.get_field("listing")]
    around_id = "%s || r.id || %s"
    notice_values = values(
        notice_fields, {"report_id": "r.id", "dedupe_key": around_id, "subject": around_id}
    )
    message_values = values(message_fields, {"args": "jsonb_build_array(n.id)"})
    sql = (
        f"WITH r AS ({insert(Report, report_fields)} VALUES ({values(report_fields, {})}) "  # noqa: S608 - model names only
        "RETURNING id), "
        f"l AS ({insert(through, linked)} SELECT r.id, unnest(%s::bigint[]) FROM r), "
        f"n AS ({insert(Notice, notice_fields)} SELECT {notice_values} FROM r RETURNING id), "
        f"m AS ({insert(OutboxMessage, message_fields)} SELECT {message_values} "
        "FROM n RETURNING id) SELECT r.id, n.id, m.id FROM r, n, m"
    )
    return sql, report_fields, notice_fields, message_fields


@transaction.atomic
def start_review(report_id: int, *, actor: AbstractBaseUser) -> Report:
    """An analyst takes a received report into review."""
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.status != ReportStatus.RECEIVED:
        raise ReportRefused(f"Report #{report.pk} is {report.get_status_display().lower()}.")
    report.status = ReportStatus.IN_REVIEW
    report.save(update_fields=["status", "updated_at"])
    report_status_changed([report.pk])
    return report


@transaction.atomic
def reject_report(
    report_id: int, *, actor: AbstractBaseUser, reason: str, manifestly_unfounded: bool = False
) -> Report:
    """Reject a report that no case was opened on, with the reason the notifier will read.

    A manifestly unfounded one counts towards the brand's Art. 23 measures.
    """
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the report is rejected: the notifier reads."]})
    report = Report.objects.select_for_update().select_related("brand").get(pk=report_id)
    if report.status not in (ReportStatus.RECEIVED, ReportStatus.IN_REVIEW):
        raise ReportRefused(
            f"Report #{report.pk} is {report.get_status_display().lower()}; "
            "only a received or in-review report can be rejected."
        )
    report.status = ReportStatus.REJECTED
    report.outcome_reason = reason.strip()
    report.manifestly_unfounded = manifestly_unfounded
    report.decided_at = timezone.now()
    fields = ["status", "outcome_reason", "manifestly_unfounded", "decided_at", "updated_at"]
    report.save(update_fields=fields)
    report_status_changed([report.pk])
    if manifestly_unfounded:
        apply_misuse_measures(report.brand_id, actor=actor)
    return report


# --- notifier quality ----------------------------------------------------------------------


@dataclass(frozen=True)
class NotifierQuality:
    """A brand's record over the look-back: decided reports, accepted ones, the rate."""

    decided: int
    accepted: int
    unfounded: int

    @property
    def rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None

    @property
    def percent(self) -> int | None:
        return None if self.rate is None else round(self.rate * 100)


def _quality_aggregates(since: datetime) -> dict:
    return {
        "decided": Count(
            "reports",
            filter=Q(reports__created_at__gte=since) & Q(reports__status__in=FINAL_STATUSES),
        ),
        "accepted": Count(
            "reports",
            filter=Q(reports__created_at__gte=since) & Q(reports__status=ReportStatus.ACTION_TAKEN),
        ),
        "unfounded": Count(
            "reports",
            filter=Q(reports__created_at__gte=since) & Q(reports__manifestly_unfounded=True),
        ),
    }


def with_quality(brands):
    """Annotate a Brand queryset with ``decided``, ``accepted`` and ``unfounded`` (one query)."""
    return brands.annotate(**_quality_aggregates(timezone.now() - settings.NOTIFIER_LOOKBACK))


def notifier_quality(brand: Brand) -> NotifierQuality:
    """Acceptance over the look-back: reports that led to action / reports decided."""
    if hasattr(brand, "decided"):
        return NotifierQuality(brand.decided, brand.accepted, brand.unfounded)
    row = with_quality(Brand.objects.filter(pk=brand.pk)).values(
        "decided", "accepted", "unfounded"
    )[0]
    return NotifierQuality(**row)


def brand_priority(brand: Brand) -> int:
    """The queue priority a brand's reports earn: trusted flaggers first, then verified brands
    whose reports were right at least 90% of the time."""
    if brand.trusted_flagger:
        return PRIORITY_TRUSTED_FLAGGER
    if brand.verified:
        quality = notifier_quality(brand)
        if quality.decided >= PRIORITY_MIN_DECIDED and quality.rate >= PRIORITY_ACCEPTANCE_RATE:
            return PRIORITY_ACCURATE_NOTIFIER
    return 0


# --- Art. 23 measures ----------------------------------------------------------------------


def _unfounded_since(brand_id: int, since: datetime) -> int:
    return Report.objects.filter(
        brand_id=brand_id, manifestly_unfounded=True, decided_at__gte=since
    ).count()


def apply_misuse_measures(
    brand_id: int, *, actor: AbstractBaseUser | None = None
) -> IntakeMeasure | None:
    """Warn, then suspend, a brand that keeps filing manifestly unfounded reports (Art. 23).

    Within the look-back: ``UNFOUNDED_WARNING_AFTER`` such reports earn a warning; after a
    warning, ``UNFOUNDED_SUSPENSION_AFTER`` more suspend the intake for
    ``INTAKE_SUSPENSION_PERIOD``. A suspension that ran out starts the count again. Call inside
    a transaction; the brand row is locked so two rejections cannot both issue a measure.
    """
    brand = Brand.objects.select_for_update().get(pk=brand_id)
    now = timezone.now()
    if suspension_in_force(brand, now=now) is not None:
        return None
    since = now - settings.NOTIFIER_LOOKBACK
    period = lookback_label()
    last = (
        IntakeMeasure.objects.filter(brand=brand)
        .filter(Q(starts_at__gte=since) | Q(ends_at__gte=since))
        .order_by("-starts_at", "-id")
        .first()
    )
    if last is not None and last.kind == IntakeMeasureKind.WARNING:
        count = _unfounded_since(brand.pk, last.starts_at)
        if count < settings.UNFOUNDED_SUSPENSION_AFTER:
            return None
        ends_at = now + settings.INTAKE_SUSPENSION_PERIOD
        total = _unfounded_since(brand.pk, since)
        measure = IntakeMeasure.objects.create(
            brand=brand,
            kind=IntakeMeasureKind.SUSPENSION,
            reason=(
                f"{total} of your reports in the last {period} were rejected as manifestly "
                f"unfounded, {count} of them after the warning of "
                f"{last.starts_at:%Y-%m-%d}."
            ),
            unfounded_count=total,
            starts_at=now,
            ends_at=ends_at,
            created_by=actor,
        )
    else:
        start = max(since, last.ends_at) if last is not None and last.ends_at else since
        count = _unfounded_since(brand.pk, start)
        if count < settings.UNFOUNDED_WARNING_AFTER:
            return None
        measure = IntakeMeasure.objects.create(
            brand=brand,
            kind=IntakeMeasureKind.WARNING,
            reason=(
                f"{count} of your reports in the last {period} were rejected as manifestly "
                f"unfounded. {settings.UNFOUNDED_SUSPENSION_AFTER} more will suspend your "
                "report intake."
            ),
            unfounded_count=count,
            starts_at=now,
            created_by=actor,
        )
    _queue_measure_notices(brand, measure)
    return measure


def lookback_label() -> str:
    """``NOTIFIER_LOOKBACK`` as a brand reads it (the period notifier quality counts)."""
    return _period(settings.NOTIFIER_LOOKBACK)


def _period(value: timedelta) -> str:
    """A look-back as the brand reads it: "183 days", "1 day", or hours under whole days."""
    days, rest = divmod(int(value.total_seconds()), 86400)
    if days and not rest:
        return "1 day" if days == 1 else f"{days} days"
    hours = round(value.total_seconds() / 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


def _measure_recipients(brand: Brand) -> list[str]:
    members = brand.members.exclude(email="").values_list("email", flat=True)
    notifiers = (
        Report.objects.filter(brand=brand)
        .order_by("-created_at")
        .values_list("notifier_email", flat=True)[:1]
    )
    return sorted({e.lower() for e in [*members, *notifiers] if e})


def _queue_measure_notices(brand: Brand, measure: IntakeMeasure) -> None:
    kind = (
        NoticeKind.INTAKE_SUSPENSION
        if measure.kind == IntakeMeasureKind.SUSPENSION
        else NoticeKind.INTAKE_WARNING
    )
    context = {"brand": brand, "measure": measure, "site": settings.SITE_URL.rstrip("/")}
    subject = (
        f"{brand.name}: report intake suspended until {measure.ends_at:%Y-%m-%d}"
        if measure.ends_at
        else f"{brand.name}: warning about manifestly unfounded reports"
    )
    body = render_to_string("portal/email/intake_measure.txt", context)
    html = render_to_string("portal/email/intake_measure.html", context)
    for email in _measure_recipients(brand):
        digest = hashlib.sha256(email.encode()).hexdigest()[:16]
        notice, created = Notice.objects.get_or_create(
            dedupe_key=f"measure:{measure.pk}:{digest}",
            defaults={
                "brand": brand,
                "kind": kind,
                "recipient": email,
                "subject": subject,
                "body": body,
                "html_body": html,
            },
        )
        if created:
            enqueue(NOTICE_TASK, notice.pk)


def current_measure(brand: Brand) -> IntakeMeasure | None:
    """The measure to show on the brand's page: a suspension in force, or a recent warning."""
    now = timezone.now()
    in_force = suspension_in_force(brand, now=now)
    if in_force is not None:
        return in_force
    last = IntakeMeasure.objects.filter(brand=brand).order_by("-starts_at", "-id").first()
    if (
        last is not None
        and last.kind == IntakeMeasureKind.WARNING
        and last.starts_at >= now - settings.NOTIFIER_LOOKBACK
    ):
        return last
    return None
