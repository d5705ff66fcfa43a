"""Operator views of marketplaces, products, listings and sales.

A listing's status is changed by the case services (delisting on closure, restoring on
reinstatement), so the admin shows it without letting anyone flip it by hand.
"""

from django.contrib import admin

from .models import Listing, Marketplace, Product, Sale


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


@admin.register(Sale)
class SaleAdmin(admin.ModelAdmin):
    list_display = ["external_id", "listing", "units", "customer_country", "sold_at"]
    list_filter = ["customer_country"]
    search_fields = ["external_id", "listing__external_id", "listing__seller__external_id"]
    raw_id_fields = ["listing"]
    list_select_related = ["listing"]
    date_hierarchy = "sold_at"
