"""Operator views of sellers. Account status is changed only by the case services (closure,
reinstatement), so it is shown, never edited, here; contact details may be corrected."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from .identity import refresh_identifiers
from .models import Seller, SellerIdentifier, SellerStatusChange
from .services import linked_sellers


class SellerIdentifierInline(admin.TabularInline):
    """The identifiers that link accounts, shown read-only: they are derived from the seller's
    fields (and payment accounts) on every save, so a hand edit here would be overwritten."""

    model = SellerIdentifier
    extra = 0
    fields = ["kind", "value"]
    readonly_fields = fields
    verbose_name_plural = "identifiers (derived from the fields above on save)"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SellerStatusChangeInline(admin.TabularInline):
    """The account's status history: a record, shown read-only."""

    model = SellerStatusChange
    extra = 0
    fields = ["at", "from_status", "to_status", "case", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["external_id", "name", "company_name", "country", "status", "closed_at"]
    list_filter = ["status", "country"]
    search_fields = ["external_id", "name", "company_name", "email", "phone", "tax_id"]
    readonly_fields = ["status", "closed_at", "created_at", "updated_at", "linked_accounts"]
    inlines = [SellerIdentifierInline, SellerStatusChangeInline]
    fieldsets = [
        (None, {"fields": ["external_id", "status", "closed_at"]}),
        (
            "Person and company",
            {"fields": ["name", "company_name", "company_registration", "tax_id"]},
        ),
        ("Contact", {"fields": ["email", "phone"]}),
        (
            "Address",
            {
                "fields": [
                    "address_line1",
                    "address_line2",
                    "city",
                    "region",
                    "postal_code",
                    "country",
                ]
            },
        ),
        ("Investigation", {"fields": ["linked_accounts", "created_at", "updated_at"]}),
    ]

    def save_related(
        self, request: HttpRequest, form: object, formsets: object, change: bool
    ) -> None:
        # Not a post_save signal (house style): the admin, like the catalog import, re-derives
        # the seller's identifiers and ring group explicitly once the seller is saved.
        super().save_related(request, form, formsets, change)
        refresh_identifiers([form.instance.pk])

    @admin.display(description="Linked accounts (shared identifiers)")
    def linked_accounts(self, obj: Seller) -> str:
        if obj.pk is None:
            return "-"
        linked = linked_sellers(obj)
        if not linked:
            return "none"
        return format_html_join(
            "\n",
            "<div>{} — {}</div>",
            (
                (entry.seller.external_id, ", ".join(f"{k}: {v}" for k, v in entry.shared))
                for entry in linked
            ),
        )


@admin.register(SellerIdentifier)
class SellerIdentifierAdmin(admin.ModelAdmin):
    """Searchable, read-only: identifiers are derived from sellers, never typed in."""

    list_display = ["kind", "value", "seller"]
    list_filter = ["kind"]
    search_fields = ["value", "seller__external_id", "seller__name"]
    raw_id_fields = ["seller"]
    list_select_related = ["seller"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SellerStatusChange)
class SellerStatusChangeAdmin(admin.ModelAdmin):
    """Status history is written by the services; the admin only reads it."""

    list_display = ["seller", "from_status", "to_status", "case", "at"]
    list_filter = ["to_status"]
    search_fields = ["seller__external_id", "seller__name", "reason"]
    list_select_related = ["seller", "case"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
