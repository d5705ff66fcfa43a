"""Operator views of marketplaces, products, listings and sales.

A listing's status is changed by the case services (delisting on closure, restoring on
reinstatement), so the admin shows it without letting anyone flip it by hand. A listing that a
report or a case names, and its sales, are the facts the case was confirmed on and its referral
packet cites: they cannot be deleted here, its sales are shown read-only, and no sale is added
to it or moved onto it by hand (the catalog import still records them).
"""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .models import Listing, Marketplace, Product, Sale


def is_case_record(listing: Listing | None) -> bool:
    """Whether a report or a case names the listing (its sales then prove the sale of fakes)."""
    return listing is not None and (listing.cases.exists() or listing.reports.exists())


@admin.register(Marketplace)
class MarketplaceAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "country"]
    search_fields = ["code", "name"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["external_id", "title", "brand", "gtin", "safety_risk"]
    list_filter = ["safety_risk", "brand"]
    search_fields = ["external_id", "title", "gtin", "brand__name"]
    raw_id_fields = ["brand"]
    list_select_related = ["brand"]


class SaleInline(admin.TabularInline):
    model = Sale
    extra = 0
    fields = ["external_id", "units", "customer_country", "sold_at"]

    def has_add_permission(self, request: HttpRequest, obj: Listing | None = None) -> bool:
        return not is_case_record(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Listing | None = None) -> bool:
        return not is_case_record(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Listing | None = None) -> bool:
        return not is_case_record(obj) and super().has_delete_permission(request, obj)


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "title",
        "seller",
        "marketplace",
        "price",
        "currency",
        "status",
        "delisted_at",
    ]
    list_filter = ["status", "marketplace", "product__brand"]
    search_fields = ["external_id", "title", "url", "seller__external_id", "seller__name"]
    raw_id_fields = ["seller", "product"]
    readonly_fields = ["status", "delisted_at", "delisted_by_case", "created_at"]
    list_select_related = ["seller", "marketplace"]
    inlines = [SaleInline]

    def has_delete_permission(self, request: HttpRequest, obj: Listing | None = None) -> bool:
        return not is_case_record(obj) and super().has_delete_permission(request, obj)


class SaleAdminForm(forms.ModelForm):
    """A sale of an unnamed listing: it may not be put on a listing a case or report names."""

    class Meta:
        model = Sale
        fields = ["external_id", "listing", "units", "customer_country", "sold_at"]

    def clean_listing(self) -> Listing:
        listing = self.cleaned_data["listing"]
        if listing.pk != self.instance.listing_id and is_case_record(listing):
            # Its units sold are what the case was confirmed on and its referral will report.
            raise forms.ValidationError(
                "A case or a report names this listing: its sales come from the catalog import."
            )
        return listing


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    form = SaleAdminForm
    list_display = ["external_id", "listing", "units", "customer_country", "sold_at"]
    list_filter = ["customer_country"]
    search_fields = ["external_id", "listing__external_id", "listing__seller__external_id"]
    raw_id_fields = ["listing"]
    list_select_related = ["listing"]
    date_hierarchy = "sold_at"

    def has_change_permission(self, request: HttpRequest, obj: Sale | None = None) -> bool:
        listing = obj.listing if obj is not None else None
        return not is_case_record(listing) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Sale | None = None) -> bool:
        listing = obj.listing if obj is not None else None
        return not is_case_record(listing) and super().has_delete_permission(request, obj)
