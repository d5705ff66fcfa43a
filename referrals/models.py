"""Authorities, routing rules, API clients and tokens, referrals, deliveries and the access log."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import AccessAction, AttemptKind, AttemptOutcome, ReferralStatus


def webhook_url_allowed(url: str) -> bool:
    """Whether packets may be pushed to ``url``: https only, or also plain http when
    ``WEBHOOK_ALLOW_HTTP`` is on (local test receivers). Packets carry personal data."""
    allowed = {"https", "http"} if settings.WEBHOOK_ALLOW_HTTP else {"https"}
    return urlsplit(url.strip()).scheme.lower() in allowed


class Authority(models.Model):
    """A law-enforcement authority that receives referral packets."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    jurisdiction = models.CharField(max_length=10, help_text="US, EU, or a member state code.")
    legal_basis = models.TextField(
        help_text="The legal basis recorded on each disclosure to this authority."
    )
    safety_legal_basis = models.TextField(
        blank=True,
        help_text="The legal basis cited instead when the case's product threatens the life or "
        "safety of persons (e.g. DSA Art. 18); empty: the legal basis above.",
    )
    profile = models.CharField(
        max_length=50, default="standard", help_text="Which packet profile shapes its referrals."
    )
    webhook_url = models.URLField(blank=True, help_text="Push endpoint; empty for pull only.")
    webhook_secret = models.CharField(max_length=128, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "authorities"

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.webhook_url and not webhook_url_allowed(self.webhook_url):
            errors["webhook_url"] = "A push endpoint must be an https:// address."
        # Pushes are signed with HMAC under the secret: with none, anyone could sign a forgery.
        if self.webhook_url and not self.webhook_secret.strip():
            errors |= {
                "webhook_secret": "A push endpoint needs a shared secret to sign its messages."
            }
        if errors:
            raise ValidationError(errors)

    def legal_basis_for(self, *, safety_risk: bool) -> str:
        """The legal basis of a disclosure to this authority about a case: the safety basis
        when the product threatens life or safety and one is set, else the ordinary one."""
        if safety_risk and self.safety_legal_basis.strip():
            return self.safety_legal_basis
        return self.legal_basis


class RoutingRule(models.Model):
    """Sends a case to an authority when one of its nexus countries is in ``countries``."""

    authority = models.ForeignKey(Authority, on_delete=models.CASCADE, related_name="rules")
    countries = models.JSONField(help_text="ISO country codes that give this authority a nexus.")
    on_seller_country = models.BooleanField(default=True)
    on_marketplace_country = models.BooleanField(default=True)
    on_customer_country = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.authority_id}: {','.join(self.countries)}"


class ApiClient(models.Model):
    """Someone who calls the API with bearer tokens: an authority's system or a user's script."""

    name = models.CharField(max_length=100)
    authority = models.ForeignKey(
        Authority, null=True, blank=True, on_delete=models.CASCADE, related_name="clients"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_clients",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(authority__isnull=True) ^ Q(user__isnull=True),
                name="api_client_authority_xor_user",
            ),
            models.UniqueConstraint(fields=["authority", "name"], name="api_client_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token: only its SHA-256 is stored; the prefix lets people tell tokens apart."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.client} / {self.name} ({self.prefix}…)"

    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class SigningKey(models.Model):
    """A public Ed25519 key that signed packets; retired keys stay published to verify old ones."""

    key_id = models.CharField(max_length=32, unique=True)
    algorithm = models.CharField(max_length=20, default="Ed25519")
    public_key = models.CharField(max_length=64, help_text="Raw public key, base64.")
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.key_id


class Referral(models.Model):
    """The frozen, signed packet sent to one authority for one case."""

    # No single-column indexes: referral_once_per_case (case, authority) serves lookups by case,
    # and the (authority, id) and (authority, created_at) indexes those by authority.
    case = models.ForeignKey(
        "counterfeits.Case", on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    authority = models.ForeignKey(
        Authority, on_delete=models.PROTECT, related_name="referrals", db_index=False
    )
    status = models.CharField(
        max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    packet_json = models.TextField(help_text="Canonical JSON: sorted keys, no spaces, UTF-8.")
    sha256 = models.CharField(max_length=64)
    signature = models.CharField(max_length=128, help_text="Ed25519 over the digest, base64.")
    key_id = models.CharField(max_length=32)
    legal_basis = models.TextField()
    profile = models.CharField(max_length=50)
    seller_country = models.CharField(max_length=2)
    brand_name = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    authority_reference = models.CharField(max_length=200, blank=True)
    retracted_at = models.DateTimeField(null=True, blank=True)
    retraction_reason = models.TextField(blank=True)
    retraction_delivered_at = models.DateTimeField(null=True, blank=True)
    # The retraction push was given up (refused, or the retry cap reached): shown to analysts,
    # who retry it (``retry_failed_retraction``); cleared by that retry.
    retraction_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["authority", "id"]),
            models.Index(fields=["authority", "created_at"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "authority"], name="referral_once_per_case"),
            models.CheckConstraint(
                condition=Q(status__in=ReferralStatus.values), name="referral_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Referral #{self.pk} to {self.authority_id}"


class DeliveryAttempt(models.Model):
    """One push of a packet or retraction to an authority's webhook."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="attempts")
    kind = models.CharField(max_length=20, choices=AttemptKind.choices)
    at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["referral", "at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of referral #{self.referral_id}: {self.outcome}"


class AccessLogEntry(models.Model):
    """Every read of a packet and every acknowledgement, by which client, from where."""

    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="access_log"
    )
    # An authority's system (client + token) or an analyst reading through the session (user).
    client = models.ForeignKey(
        ApiClient, null=True, blank=True, on_delete=models.PROTECT, related_name="access_log"
    )
    token = models.ForeignKey(
        ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The analyst who read the packet, when not an API client.",
    )
    action = models.CharField(max_length=20, choices=AccessAction.choices)
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["referral", "at"]), models.Index(fields=["client", "at"])]
        verbose_name_plural = "access log entries"

    def __str__(self) -> str:
        who = self.client or self.user
        return f"{self.get_action_display()} by {who} at {self.at:%Y-%m-%d %H:%M:%S}"
