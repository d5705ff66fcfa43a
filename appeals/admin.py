"""Operator view of appeals. Filing and deciding go through ``appeals.services`` (the four-eyes
rule, the case transition and its timeline event, the seller's notice), so an appeal is shown
here, not edited."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Appeal, AppealEvidence


class AppealEvidenceInline(admin.TabularInline):
    model = AppealEvidence
    extra = 0
    fields = ["original_name", "file", "content_type", "size", "sha256", "uploaded_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Appeal)
class AppealAdmin(admin.ModelAdmin):
    list_display = ["id", "case", "outcome", "late", "filed_at", "decided_by", "decided_at"]
    list_filter = ["outcome", "late"]
    search_fields = ["=case__id", "case__seller__external_id", "case__seller__name", "statement"]
    readonly_fields = [
        "case",
        "statement",
        "filed_at",
        "late",
        "outcome",
        "decided_by",
        "decided_at",
        "decision_reason",
    ]
    list_select_related = ["case", "decided_by"]
    date_hierarchy = "filed_at"
    inlines = [AppealEvidenceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AppealEvidence)
class AppealEvidenceAdmin(admin.ModelAdmin):
    list_display = ["id", "appeal", "original_name", "content_type", "size", "uploaded_at"]
    search_fields = ["=sha256", "original_name", "=appeal__case__id"]
    raw_id_fields = ["appeal"]
    list_select_related = ["appeal"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
