"""Sellers: the marketplace accounts a case is about, and the identifiers that link them."""

from django.db import models

from .choices import IdentifierKind, SellerStatus


class Seller(models.Model):
    """A marketplace seller account: the person, the company and how to reach them."""

    external_id = models.CharField(max_length=100, unique=True, help_text="The marketplace's id.")
    name = models.CharField(max_length=200, help_text="The natural person behind the account.")
    company_name = models.CharField(max_length=200, blank=True)
    company_registration = models.CharField(max_length=100, blank=True)
    tax_id = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254)
    phone = models.CharField(max_length=50, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=30, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    status = models.CharField(
        max_length=20, choices=SellerStatus.choices, default=SellerStatus.ACTIVE
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    link_group = models.BigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text=(
            "Linked-seller group: the smallest seller id of the accounts connected to this one "
            "through shared identifiers (transitively); empty when it shares none. Kept by "
            "sellers.identity.refresh_identifiers."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["country"]),
            models.Index(fields=["status"]),
            models.Index(fields=["email"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=SellerStatus.values), name="seller_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.company_name or 'no company'})"

    @property
    def display_name(self) -> str:
        return self.company_name or self.name


class SellerIdentifier(models.Model):
    """A normalised identifier of a seller (e-mail, phone, ...), used to link accounts."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=30, choices=IdentifierKind.choices)
    value = models.CharField(max_length=255, help_text="Normalised value, or a keyed hash.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "kind", "value"], name="seller_identifier_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "value"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class SellerStatusChange(models.Model):
    """One change of a seller's account status: the history shown on the seller page."""

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=SellerStatus.choices)
    to_status = models.CharField(max_length=20, choices=SellerStatus.choices)
    case = models.ForeignKey(
        "counterfeits.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["seller", "at"])]

    def __str__(self) -> str:
        return f"{self.seller_id}: {self.from_status} -> {self.to_status}"


class RingAlert(models.Model):
    """A repeat-offender alert, raised once per (seller, closed seller) pair sharing identifiers.

    The alert itself is a ``counterfeits.Report`` of reason ``linked_to_closed_seller`` in the
    analysts' queue; this row makes raising it idempotent and says which closed account it is about.
    """

    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="ring_alerts")
    closed_seller = models.ForeignKey(Seller, on_delete=models.CASCADE, related_name="+")
    report = models.ForeignKey(
        "counterfeits.Report", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shared_kinds = models.JSONField(default=list, help_text="Identifier kinds shared.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["seller", "closed_seller"], name="ring_alert_once_per_pair"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seller_id} linked to closed {self.closed_seller_id}"
