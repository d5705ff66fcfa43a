"""The seller's appeal (complaint) against the account closure, and its review."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import AppealOutcome


class Appeal(models.Model):
    """One appeal per case. ``late``: a complaint filed after the appeal window (DSA Art. 20)."""

    case = models.OneToOneField(
        "counterfeits.Case", on_delete=models.PROTECT, related_name="appeal"
    )
    statement = models.TextField()
    filed_at = models.DateTimeField(default=timezone.now)
    late = models.BooleanField(default=False)
    outcome = models.CharField(
        max_length=20, choices=AppealOutcome.choices, default=AppealOutcome.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["filed_at", "id"]
        indexes = [models.Index(fields=["outcome", "filed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=AppealOutcome.values), name="appeal_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome=AppealOutcome.PENDING) | Q(decided_at__isnull=False),
                name="appeal_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Appeal on case #{self.case_id}"


def appeal_evidence_upload_to(instance: "AppealEvidence", filename: str) -> str:
    # The stored name is the content digest: the seller's file name never reaches the filesystem.
    return f"appeal-evidence/{instance.sha256[:2]}/{instance.sha256}"


class AppealEvidence(models.Model):
    """A file the seller sent with the appeal (e.g. an authorised distributor's invoice)."""

    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="evidence")
    file = models.FileField(upload_to=appeal_evidence_upload_to, max_length=200)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.original_name or 'file'} ({self.sha256[:12]})"
