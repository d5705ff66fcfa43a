"""Seller serializers for the analyst API."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from sellers.identity import SharedIdentifier, mask
from sellers.models import Seller, SellerStatusChange
from sellers.services import LinkedSeller, linked_sellers


class SellerRefSerializer(serializers.ModelSerializer):
    """A seller named inside another object (a case, a listing)."""

    class Meta:
        model = Seller
        fields = ["id", "external_id", "name", "company_name", "country", "status"]
        read_only_fields = fields
        extra_kwargs = {"country": {"help_text": "ISO 3166-1 alpha-2."}}


class AddressSerializer(serializers.Serializer):
    line1 = serializers.CharField(source="address_line1", read_only=True)
    line2 = serializers.CharField(source="address_line2", read_only=True)
    city = serializers.CharField(read_only=True)
    region = serializers.CharField(read_only=True)
    postal_code = serializers.CharField(read_only=True)
    country = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2.")


class ContactSerializer(serializers.Serializer):
    """Who is behind the account and how to reach them: what a referral packet names."""

    name = serializers.CharField(read_only=True, help_text="The natural person behind it.")
    company_name = serializers.CharField(read_only=True)
    company_registration = serializers.CharField(read_only=True)
    tax_id = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    phone = serializers.CharField(read_only=True)
    address = AddressSerializer(source="*", read_only=True)
    country = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2.")


class SellerSerializer(serializers.ModelSerializer):
    """A seller account in the analyst's list."""

    contact = ContactSerializer(source="*", read_only=True)

    class Meta:
        model = Seller
        fields = ["id", "external_id", "status", "closed_at", "contact", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "status": {"help_text": "Account status: active, closed or reinstated."},
            "closed_at": {"help_text": "When the account was last closed."},
        }


class LinkedIdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True, help_text="email, phone, address, payment, ...")
    label = serializers.CharField(read_only=True, help_text="The kind, for people.")
    value = serializers.CharField(
        read_only=True, help_text="Masked: enough to recognise the identifier, not to use it."
    )


class LinkedAccountSerializer(serializers.Serializer):
    """Another seller sharing identifiers with this one."""

    id = serializers.IntegerField(source="seller.pk", read_only=True)
    external_id = serializers.CharField(source="seller.external_id", read_only=True)
    name = serializers.CharField(source="seller.name", read_only=True)
    company_name = serializers.CharField(source="seller.company_name", read_only=True)
    country = serializers.CharField(source="seller.country", read_only=True)
    status = serializers.CharField(source="seller.status", read_only=True)
    shared = serializers.SerializerMethodField(help_text="The identifiers both accounts have.")

    @extend_schema_field(LinkedIdentifierSerializer(many=True))
    def get_shared(self, obj: LinkedSeller) -> list[dict[str, str]]:
        return [SharedIdentifier(kind, mask(kind, value)).as_dict() for kind, value in obj.shared]


class StatusChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SellerStatusChange
        fields = ["from_status", "to_status", "case", "reason", "at"]
        read_only_fields = fields
        extra_kwargs = {"case": {"help_text": "The case that caused the change, if any."}}


class SellerCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    brand = serializers.CharField(source="brand.name", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class SellerDetailSerializer(SellerSerializer):
    """One seller: contact, the accounts linked to it, its status history and its cases."""

    linked_accounts = serializers.SerializerMethodField(
        help_text="Other sellers sharing an identifier (e-mail, phone, payment, ...) with it."
    )
    status_history = StatusChangeSerializer(source="status_changes", many=True, read_only=True)
    cases = SellerCaseSerializer(many=True, read_only=True)

    class Meta(SellerSerializer.Meta):
        fields = [*SellerSerializer.Meta.fields, "linked_accounts", "status_history", "cases"]
        read_only_fields = fields

    @extend_schema_field(LinkedAccountSerializer(many=True))
    def get_linked_accounts(self, obj: Seller) -> list[dict]:
        return LinkedAccountSerializer(linked_sellers(obj), many=True).data
