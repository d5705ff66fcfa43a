"""Operator views of authorities, clients, tokens, referrals, deliveries and the access log.

Referrals are frozen and signed, delivery attempts and the access log are records: the admin
shows them and offers the analyst's one action (retry a parked delivery), nothing that rewrites
history. Token secrets are never shown (only hashes are stored); use ``issue_token``.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import services
from .choices import ReferralStatus
from .models import (
    AccessLogEntry,
    ApiClient,
    ApiToken,
    Authority,
    DeliveryAttempt,
    Referral,
    RoutingRule,
    SigningKey,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class RoutingRuleInline(admin.TabularInline):
    model = RoutingRule
    extra = 0


class AuthorityAdminForm(forms.ModelForm):
    """The webhook secret is write-only: the page never renders it, a blank field keeps it."""

    webhook_secret = forms.CharField(
        required=False,
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The HMAC key pushes are signed with. Never shown: leave blank to keep the "
        "current secret, type a new one to replace it.",
    )

    class Meta:
        model = Authority
        fields = [
            "code",
            "name",
            "jurisdiction",
            "legal_basis",
            "safety_legal_basis",
            "profile",
            "webhook_url",
            "webhook_secret",
            "active",
        ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Not even as the field's initial value: a kept secret is then no change in the history.
        self.initial["webhook_secret"] = ""

    def clean_webhook_secret(self) -> str:
        secret = self.cleaned_data["webhook_secret"]
        if not secret.strip() and self.instance.pk is not None:
            # The stored secret stays; Authority.clean() then judges it with the webhook URL.
            return self.instance.webhook_secret
        return secret


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    form = AuthorityAdminForm
    list_display = ["code", "name", "jurisdiction", "profile", "active", "push"]
    list_filter = ["jurisdiction", "active", "profile"]
    search_fields = ["code", "name"]
    inlines = [RoutingRuleInline]

    @admin.display(boolean=True, description="push")
    def push(self, obj: Authority) -> bool:
        return bool(obj.webhook_url)


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    # Revoking is the token page's or the changelist action's job; here a cleared field would
    # bring a revoked token back, and a later expiry an expired one.
    readonly_fields = ["prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # a token's secret is made and shown once by `issue_token`


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "authority", "user", "created_at"]
    list_filter = ["authority"]
    search_fields = ["name", "user__username"]
    list_select_related = ["authority", "user"]
    inlines = [ApiTokenInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "client", "created_at", "expires_at", "revoked_at"]
    list_display += ["last_used_at"]
    list_filter = ["client__authority", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "client__name"]
    list_select_related = ["client"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "client",
                    "name",
                    "prefix",
                    "created_at",
                    "expires_at",
                    "revoked_at",
                    "last_used_at",
                ],
                # A later expiry would revive an expired (or soon-expiring) token for whoever
                # holds it: the expiry is set once, when the token is issued.
                "description": "A token's expiry cannot be moved. To extend access, issue a new "
                "token (<code>manage.py issue_token --expires-in P90D</code>) and revoke this "
                "one.",
            },
        )
    ]
    readonly_fields = ["client", "prefix", "created_at", "expires_at", "last_used_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        # A revocation is final (a leaked token stays dead): once set, revoked_at is shown only.
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.revoked_at is not None:
            fields.append("revoked_at")
        return fields

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        for token in queryset:
            services.revoke_token(token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "algorithm", "created_at", "retired_at"]
    list_filter = [("retired_at", admin.EmptyFieldListFilter)]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["at", "kind", "outcome", "status_code", "duration_ms", "error"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Referral)
class ReferralAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "authority",
        "case",
        "status",
        "seller_country",
        "brand_name",
        "created_at",
        "delivered_at",
        "acknowledged_at",
        "authority_reference",
    ]
    list_filter = ["status", "authority", "seller_country", "created_at"]
    search_fields = ["=id", "=case__id", "brand_name", "authority_reference", "sha256"]
    list_select_related = ["authority", "case"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    actions = ["retry_delivery"]

    @admin.action(description="Retry delivery of failed referrals")
    def retry_delivery(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        failed = queryset.filter(status=ReferralStatus.FAILED)
        retried = sum(
            services.retry_failed_delivery(pk) for pk in failed.values_list("pk", flat=True)
        )
        skipped = queryset.count() - retried
        self.message_user(request, f"Queued {retried} referral(s) for delivery again.")
        if skipped:
            self.message_user(
                request, f"{skipped} selected referral(s) had not failed.", messages.WARNING
            )


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = ["referral", "kind", "at", "outcome", "status_code", "duration_ms"]
    list_filter = ["kind", "outcome", "referral__authority"]
    list_select_related = ["referral"]
    search_fields = ["=referral__id"]


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "referral", "client", "user", "ip", "user_agent"]
    list_filter = ["action", "client__authority", "client", "at"]
    list_select_related = ["referral", "client", "user"]
    search_fields = ["=referral__id", "ip", "client__name", "user__username"]
    date_hierarchy = "at"
