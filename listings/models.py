"""Products, the listings that offer them, and the sales made to customers."""

from django.db import models

from .choices import ListingStatus


class Marketplace(models.Model):
    """A storefront of the marketplace (e.g. the US or German site); its country is a nexus."""

    code = models.CharField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Product(models.Model):
    """A product as offered: the brand it claims, its title and GTIN."""

    external_id = models.CharField(max_length=100, unique=True)
    brand = models.ForeignKey(
        "counterfeits.Brand", on_delete=models.PROTECT, related_name="products"
    )
    title = models.CharField(max_length=300)
    gtin = models.CharField(max_length=14, blank=True)
    safety_risk = models.BooleanField(
        default=False,
        help_text="A fake of it threatens life or safety (medicine, chargers, car parts, toys).",
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["gtin"])]

    def __str__(self) -> str:
        return self.title


class Listing(models.Model):
    """One seller's offer of one product on one marketplace."""

    external_id = models.CharField(max_length=100, unique=True)
    # No index of its own: the (seller, status) index below serves every lookup by seller, and
    # one index fewer is one less to maintain per row a catalog import writes.
    seller = models.ForeignKey(
        "sellers.Seller", on_delete=models.PROTECT, related_name="listings", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="listings")
    marketplace = models.ForeignKey(Marketplace, on_delete=models.PROTECT, related_name="listings")
    title = models.CharField(max_length=300)
    url = models.URLField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(
        max_length=20, choices=ListingStatus.choices, default=ListingStatus.ACTIVE
    )
    delisted_at = models.DateTimeField(null=True, blank=True)
    delisted_by_case = models.ForeignKey(
        "counterfeits.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delisted_listings",
        help_text="The case whose closure took this listing down (restored on reinstatement).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["seller", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ListingStatus.values), name="listing_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="listing_price_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.title} [{self.marketplace_id}]"


class Sale(models.Model):
    """Units of a listing sold to customers, with the customer's country."""

    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    # Served by the (listing, customer_country) index below.
    listing = models.ForeignKey(
        Listing, on_delete=models.CASCADE, related_name="sales", db_index=False
    )
    units = models.PositiveIntegerField()
    customer_country = models.CharField(max_length=2)
    sold_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["listing", "customer_country"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(units__gt=0), name="sale_units_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.units} x listing {self.listing_id} to {self.customer_country}"
