"""Operator views of brands, reports, evidence, cases and their timelines.

The case state machine is driven only by ``counterfeits.services``: here a case's state and
lifecycle dates are read-only (the FSM field is protected), and its timeline (CaseEvent) is
append-only, so the admin can neither add, change nor delete an event. What an operator may fix
by hand is what no rule depends on: assignee, priority, brand details, trademarks, memberships.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .audit import verify_case_chain
from .models import (
    Brand,
    BrandMembership,
    Case,
    CaseEvent,
    Evidence,
    IdempotencyRecord,
    IntakeMeasure,
    Notice,
    Report,
    Trademark,
)


class ReadOnlyAdminMixin:
    """A record the services write: viewable, never added, changed or deleted in the admin."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


# --- brands ----------------------------------------------------------------------------------


class TrademarkInline(admin.TabularInline):
    model = Trademark
    extra = 0


class BrandMembershipInline(admin.TabularInline):
    model = BrandMembership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "verified", "trusted_flagger", "verified_at", "created_at"]
    list_filter = ["verified", "trusted_flagger"]
    search_fields = ["name", "trademarks__number"]
    readonly_fields = ["verified_at", "verified_by", "created_at"]
    inlines = [TrademarkInline, BrandMembershipInline]

    def save_model(self, request: HttpRequest, obj: Brand, form: object, change: bool) -> None:
        # Who verified a brand, and when, is recorded whenever the flag is switched here.
        if "verified" in getattr(form, "changed_data", ()):
            obj.verified_at = timezone.now() if obj.verified else None
            obj.verified_by = request.user if obj.verified else None
        super().save_model(request, obj, form, change)


@admin.register(Trademark)
class TrademarkAdmin(admin.ModelAdmin):
    list_display = ["office", "number", "brand", "classes"]
    list_filter = ["office"]
    search_fields = ["number", "brand__name"]
    raw_id_fields = ["brand"]
    list_select_related = ["brand"]


@admin.register(BrandMembership)
class BrandMembershipAdmin(admin.ModelAdmin):
    list_display = ["brand", "user", "role"]
    list_filter = ["role", "brand"]
    search_fields = ["brand__name", "user__username", "user__email"]
    raw_id_fields = ["brand", "user"]
    list_select_related = ["brand", "user"]


@admin.register(IntakeMeasure)
class IntakeMeasureAdmin(admin.ModelAdmin):
    list_display = ["brand", "kind", "starts_at", "ends_at", "unfounded_count"]
    list_filter = ["kind"]
    search_fields = ["brand__name", "reason"]
    raw_id_fields = ["brand", "created_by"]
    list_select_related = ["brand"]


# --- reports and evidence --------------------------------------------------------------------


class EvidenceInline(admin.TabularInline):
    """Evidence is identified by its digest: shown, never edited or removed."""

    model = Evidence
    extra = 0
    fields = ["kind", "description", "file", "content_type", "size", "sha256", "collected_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """Reports are filed through the portal or the API (validation, evidence checks, notices).

    A filed report is the brand owner's notice (DSA Art. 16) as received: its seller, brand,
    listings, explanation and notifier are a record, and its status and outcome are moved by
    the case services. The admin shows it; nothing on it is edited here.
    """

    list_display = ["id", "brand", "seller", "reason", "status", "case", "created_at"]
    list_filter = ["status", "reason", "brand", "manifestly_unfounded"]
    search_fields = ["=id", "seller__external_id", "seller__name", "brand__name", "explanation"]
    raw_id_fields = ["brand", "reporter", "seller", "listings", "case"]
    readonly_fields = [
        "status",
        "case",
        "outcome_reason",
        "manifestly_unfounded",
        "decided_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["brand", "seller", "case"]
    date_hierarchy = "created_at"
    inlines = [EvidenceInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Report | None = None) -> bool:
        # Erasing a notice would also take its evidence and its listings' protection with it.
        return False


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "report", "case", "content_type", "size", "collected_at"]
    list_filter = ["kind", "content_type"]
    search_fields = ["=sha256", "description", "original_name"]
    list_select_related = ["report__brand", "case"]


# --- cases -----------------------------------------------------------------------------------


class CaseEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ["seq", "transition", "from_state", "to_state", "actor_label", "actor_role", "at"]
    readonly_fields = fields
    ordering = ["seq"]


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):
    """State and lifecycle dates are read-only: transitions go through the services, which
    write the hash-chained timeline. Assignee and priority may be changed here."""

    list_display = [
        "id",
        "state",
        "seller",
        "brand",
        "safety_risk",
        "priority",
        "assignee",
        "appeal_deadline",
        "created_at",
    ]
    list_filter = ["state", "safety_risk", "brand"]
    search_fields = ["=id", "seller__external_id", "seller__name", "seller__company_name"]
    raw_id_fields = ["assignee"]
    readonly_fields = [
        "state",
        "seller",
        "brand",
        "listings",
        "safety_risk",
        "opened_by",
        "confirmed_by",
        "confirmed_at",
        "account_closed_at",
        "appeal_deadline",
        "referred_at",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    fields = ["state", "seller", "brand", "listings", "safety_risk", "priority", "assignee"] + [
        "opened_by",
        "confirmed_by",
        "confirmed_at",
        "account_closed_at",
        "appeal_deadline",
        "referred_at",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["seller", "brand", "assignee"]
    date_hierarchy = "created_at"
    inlines = [CaseEventInline]
    actions = ["verify_chain"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Cases are opened from brand reports by ``open_case``, which writes the first event.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A case and its timeline are the audit record.
        return False

    @admin.action(description="Verify the audit chain of the selected cases")
    def verify_chain(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        broken = [link for case in queryset if (link := verify_case_chain(case.pk))]
        if broken:
            for link in broken:
                self.message_user(request, f"Broken chain: {link}", messages.ERROR)
        else:
            self.message_user(request, f"{queryset.count()} case chain(s) intact.")


@admin.register(CaseEvent)
class CaseEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The append-only, hash-chained timeline: the admin reads it, nothing more."""

    list_display = ["case", "seq", "transition", "from_state", "to_state", "actor_label", "at"]
    list_filter = ["transition", "actor_role"]
    search_fields = ["=case__id", "actor_label", "=hash"]
    list_select_related = ["case"]
    date_hierarchy = "at"


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "recipient", "subject", "case", "created_at", "sent_at"]
    list_filter = ["kind", ("sent_at", admin.EmptyFieldListFilter)]
    search_fields = ["recipient", "subject", "=case__id", "dedupe_key"]
    list_select_related = ["case"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["user", "key", "response_status", "created_at"]
    search_fields = ["key", "user__username"]
    list_select_related = ["user"]
