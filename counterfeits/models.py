"""Brands and their trademarks, brand owners' reports, evidence, and the case state machine."""

from django.conf import settings
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django_fsm import RETURN_VALUE, FSMField, FSMModelMixin, transition

from .choices import (
    ActorRole,
    CaseState,
    EvidenceKind,
    IntakeMeasureKind,
    MembershipRole,
    NoticeKind,
    ReportReason,
    ReportStatus,
)


class Brand(models.Model):
    """A rights owner's brand. Reports count as a rights owner's once an analyst verifies it."""

    name = models.CharField(max_length=200, unique=True)
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="BrandMembership", related_name="brands"
    )
    trusted_flagger = models.BooleanField(
        default=False,
        help_text="Trusted flagger (DSA Art. 22): its reports go to the priority lane.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Trademark(models.Model):
    """A registered trademark of a brand (office such as USPTO or EUIPO, and its number)."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="trademarks")
    office = models.CharField(max_length=20)
    number = models.CharField(max_length=50)
    classes = models.CharField(max_length=100, blank=True, help_text="Nice classes, e.g. '9, 25'.")

    class Meta:
        ordering = ["office", "number"]
        constraints = [
            models.UniqueConstraint(fields=["office", "number"], name="trademark_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.office} {self.number}"


class BrandMembership(models.Model):
    """A brand-owner user's membership of a brand: what they may see and file for."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="brand_memberships"
    )
    role = models.CharField(
        max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "user"], name="brand_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.brand_id} ({self.role})"


class Report(models.Model):
    """A brand owner's notice (EU DSA Art. 16) that listings sell fakes of their brand."""

    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_filed",
    )
    seller = models.ForeignKey("sellers.Seller", on_delete=models.PROTECT, related_name="reports")
    listings = models.ManyToManyField("listings.Listing", related_name="reports")
    reason = models.CharField(max_length=40, choices=ReportReason.choices)
    explanation = models.TextField()
    notifier_name = models.CharField(max_length=200)
    notifier_email = models.EmailField()
    good_faith = models.BooleanField(default=False)
    manifestly_unfounded = models.BooleanField(
        default=False,
        help_text="Rejected as manifestly unfounded: counts towards an Art. 23 intake measure.",
    )
    status = models.CharField(
        max_length=20, choices=ReportStatus.choices, default=ReportStatus.RECEIVED
    )
    outcome_reason = models.TextField(blank=True)
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text="When the report reached action taken or rejected."
    )
    case = models.ForeignKey(
        "Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["brand", "created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ReportStatus.values), name="report_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Report #{self.pk} ({self.brand})"

    @property
    def status_label(self) -> str:
        """The status as the notifier reads it: a rejected report is called manifestly
        unfounded only when it was found so (DSA Art. 23), otherwise just rejected."""
        if self.status == ReportStatus.REJECTED:
            return "Rejected as manifestly unfounded" if self.manifestly_unfounded else "Rejected"
        return self.get_status_display()


def evidence_upload_to(instance: "Evidence", filename: str) -> str:
    # The stored name is the content digest: the uploader's name never reaches the filesystem.
    return f"evidence/{instance.sha256[:2]}/{instance.sha256}"


class Evidence(models.Model):
    """A piece of evidence (test buy, photo, lab report) with the SHA-256 of its content."""

    case = models.ForeignKey(
        "Case", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    kind = models.CharField(max_length=20, choices=EvidenceKind.choices)
    description = models.TextField()
    file = models.FileField(upload_to=evidence_upload_to, blank=True, max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    collected_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["collected_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(case__isnull=False) | Q(report__isnull=False),
                name="evidence_belongs_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]}"


class Case(FSMModelMixin, models.Model):
    """A counterfeit case against one seller for one brand, and its state machine.

    Transition methods change fields only; ``counterfeits.services`` locks the row, runs them,
    writes the CaseEvent and queues the side effects.
    """

    # seller, brand and assignee have no index of their own: the (seller, state), (brand, state)
    # and (assignee, state) indexes in Meta serve every lookup by them, and every state change
    # (the sweep's above all) updates each index the table has.
    seller = models.ForeignKey(
        "sellers.Seller", on_delete=models.PROTECT, related_name="cases", db_index=False
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="cases", db_index=False)
    listings = models.ManyToManyField("listings.Listing", related_name="cases", blank=True)
    state = FSMField(
        default=CaseState.OPEN, choices=CaseState.choices, protected=True, max_length=20
    )
    safety_risk = models.BooleanField(default=False)
    priority = models.PositiveSmallIntegerField(default=0, help_text="Higher is more urgent.")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        db_index=False,
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    account_closed_at = models.DateTimeField(null=True, blank=True)
    appeal_deadline = models.DateTimeField(null=True, blank=True)
    referred_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the case reached a final state."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "-id"]),
            # The analyst queue's default order (priority first, then newest), whole and per state.
            models.Index(fields=["-priority", "-id"], name="case_queue_priority"),
            models.Index(fields=["state", "-priority", "-id"], name="case_state_queue_priority"),
            models.Index(fields=["brand", "state"]),
            models.Index(fields=["seller", "state"]),
            models.Index(fields=["assignee", "state"]),
            # The deadline sweep: cases whose appeal window runs out.
            models.Index(
                fields=["appeal_deadline"],
                condition=Q(state=CaseState.ACCOUNT_CLOSED),
                name="case_due_for_sweep",
            ),
            # The sweep's second claim: referrals whose task has not run yet.
            models.Index(
                fields=["id"],
                condition=Q(state=CaseState.REFERRAL_PENDING),
                name="case_referral_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=CaseState.values), name="case_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Case #{self.pk}"

    # --- conditions (no side effects) ------------------------------------------------------
    def has_evidence(self) -> bool:
        return Evidence.objects.filter(Q(case=self) | Q(report__case=self)).exists()

    def units_sold(self) -> int:
        from listings.models import Sale

        return Sale.objects.filter(listing__cases=self).aggregate(n=Sum("units"))["n"] or 0

    def has_sales(self) -> bool:
        return self.units_sold() > 0

    def window_expired(self) -> bool:
        return self.appeal_deadline is not None and self.appeal_deadline <= timezone.now()

    def window_open(self) -> bool:
        return self.appeal_deadline is not None and timezone.now() < self.appeal_deadline

    def can_refer_now(self) -> bool:
        return self.state == CaseState.REFERRAL_PENDING or self.safety_risk

    # --- transitions (field changes only) --------------------------------------------------
    @transition(
        field=state,
        source=CaseState.OPEN,
        target=CaseState.CONFIRMED,
        conditions=[has_evidence, has_sales],
    )
    def confirm(self, *, by) -> None:
        self.confirmed_by = by
        self.confirmed_at = timezone.now()

    @transition(field=state, source=CaseState.OPEN, target=CaseState.DISMISSED)
    def dismiss(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=state, source=CaseState.CONFIRMED, target=CaseState.ACCOUNT_CLOSED)
    def close_account(self, *, window) -> None:
        now = timezone.now()
        self.account_closed_at = now
        self.appeal_deadline = now + window

    @transition(
        field=state,
        source=[CaseState.ACCOUNT_CLOSED, CaseState.REFERRAL_PENDING, CaseState.REFERRED],
        target=RETURN_VALUE(
            CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING, CaseState.REFERRED
        ),
    )
    def file_appeal(self) -> str:
        # Once the referral is under way the case keeps its state: the late complaint is
        # reviewed alongside it, and a grant then reinstates and retracts.
        if self.state == CaseState.ACCOUNT_CLOSED:
            return CaseState.APPEAL_REVIEW
        return self.state

    @transition(
        field=state,
        source=[CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING],
        target=CaseState.REINSTATED,
    )
    def grant_appeal(self) -> None:
        self.closed_at = timezone.now()

    @transition(
        field=state,
        source=[CaseState.APPEAL_REVIEW, CaseState.REFERRAL_PENDING, CaseState.REFERRED],
        target=RETURN_VALUE(CaseState.REFERRAL_PENDING, CaseState.REFERRED),
    )
    def deny_appeal(self) -> str:
        if self.state == CaseState.REFERRED:
            return CaseState.REFERRED
        return CaseState.REFERRAL_PENDING

    @transition(
        field=state,
        source=CaseState.ACCOUNT_CLOSED,
        target=CaseState.REFERRAL_PENDING,
        conditions=[window_expired],
    )
    def expire_appeal_window(self) -> None:
        pass

    @transition(
        field=state,
        source=[CaseState.REFERRAL_PENDING, CaseState.ACCOUNT_CLOSED],
        target=CaseState.REFERRED,
        conditions=[can_refer_now],
    )
    def refer(self) -> None:
        self.referred_at = timezone.now()
        self.closed_at = self.referred_at

    @transition(field=state, source=CaseState.REFERRED, target=CaseState.REINSTATED)
    def reinstate_after_referral(self) -> None:
        self.closed_at = timezone.now()


class CaseEvent(models.Model):
    """One entry of a case's append-only timeline, hash-chained to the previous one."""

    # No index of its own: case_event_seq_unique (case, seq) serves every lookup by case, and
    # each index is written for every event the sweep appends.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events", db_index=False)
    seq = models.PositiveIntegerField()
    transition = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=150, help_text="Who acted, kept even if the user is deleted."
    )
    actor_role = models.CharField(max_length=20, choices=ActorRole.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["case_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="case_event_seq_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.transition}"


class Notice(models.Model):
    """An e-mail owed to someone, sent once: to a seller about a case (statement of reasons,
    appeal outcome), or to a notifier about a report or a brand (status change, Art. 23 measure).

    A case notice is unique per (case, kind); every other notice carries a ``dedupe_key`` (e.g.
    ``report:12:case_opened``) so that queueing it twice owes one e-mail.
    """

    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    report = models.ForeignKey(
        Report, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    brand = models.ForeignKey(
        Brand, null=True, blank=True, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=30, choices=NoticeKind.choices)
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    recipient = models.EmailField()
    subject = models.CharField(max_length=300)
    body = models.TextField()
    html_body = models.TextField(blank=True, help_text="The HTML alternative, if any.")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # NULL cases are distinct in the index: report and brand notices are not limited here.
            models.UniqueConstraint(fields=["case", "kind"], name="notice_once_per_case_kind"),
            models.CheckConstraint(
                condition=Q(case__isnull=False) | Q(report__isnull=False) | Q(brand__isnull=False),
                name="notice_is_about_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient}"


class IntakeMeasure(models.Model):
    """A measure against a brand that keeps filing manifestly unfounded reports (DSA Art. 23):
    first a warning, then a suspension of its report intake until ``ends_at``.

    Intake is refused while a suspension is in force (``starts_at <= now < ends_at``); it lifts
    by itself when the period runs out.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="intake_measures")
    kind = models.CharField(max_length=20, choices=IntakeMeasureKind.choices)
    reason = models.TextField()
    unfounded_count = models.PositiveIntegerField(
        help_text="Manifestly unfounded reports that led to this measure."
    )
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="End of a suspension.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["brand", "kind", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=IntakeMeasureKind.values), name="intake_measure_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=IntakeMeasureKind.SUSPENSION) | Q(ends_at__isnull=False),
                name="intake_suspension_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.brand_id}"

    def in_force(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.kind == IntakeMeasureKind.SUSPENSION
            and self.starts_at <= now
            and self.ends_at is not None
            and now < self.ends_at
        )


class IdempotencyRecord(models.Model):
    """The first answer to an API request made with an ``Idempotency-Key``, per user.

    The row is claimed (inserted) inside the transaction that does the work, so a concurrent
    request with the same key waits on the unique index and then replays the stored answer.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique"),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
